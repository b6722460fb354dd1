"""Garbage collection in `kreis serve`'s web workers: no full collection inside a request.

Measured over HTTP (benchmarks/crm_pages.py --http), about one list request in ten ran a full
collection of the oldest generation, which walked 70,000–100,000 objects. Two kinds:

- Each request's own garbage. Model instances and their prefetched relations point at each
  other, so a list page leaves 1,000–2,000 objects in reference cycles. They are still alive
  while the young generations are collected during the request, so they end up in the oldest
  generation, and only a full collection frees them: ten or more requests' worth at once,
  in the middle of some later request.
- What each worker loaded on its first requests (compiled templates, translation catalogues,
  Babel's locale data): never garbage, but walked by every full collection, because
  `gc.freeze()` ran before it was loaded.

So the server's master loads those before it forks (`freeze_for_workers`) and freezes them,
and each worker collects after every response that left something in the oldest generation
(`gunicorn_hooks`): the response has already gone out, and one request's garbage is quick to
walk. A full collection during a request happens only after 100 young collections without a
response in between (a very long export or import), so memory stays bounded there too.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

log = logging.getLogger("kreis")

TEMPLATE_SUFFIXES = {".html", ".txt", ".xml", ".json", ".csv", ".ics"}
# Besides Kreis's own templates, the ones every form page renders. (Compiling all of Django's
# admin and allauth's too took seconds more at every start, for pages few users open.)
SHARED_TEMPLATES = ("django/forms/",)


def warm_up() -> dict[str, int]:
    """Load the URL conf (every view and API module; the start-up checks usually did already),
    the catalogues, formats and Babel data of every language, and compile Kreis's templates and
    the form widgets'. No database access."""
    from django.conf import settings
    from django.db import connections
    from django.template import TemplateSyntaxError, engines
    from django.urls import get_resolver
    from django.utils import formats, translation

    from kreis.core.templatetags.kreis import money

    get_resolver().url_patterns  # noqa: B018 (imports every urls, view and API module)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Kreis")
            formats.get_format("DATE_INPUT_FORMATS")
            formats.get_format("DECIMAL_SEPARATOR")
            money("1234.5")  # Babel's locale data (CLDR) for the amounts on every list
    for alias in connections:
        # The SQL compiler module is imported on the first query; no connection is opened.
        connections[alias].ops.compiler("SQLCompiler")
    templates = 0
    for engine in engines.all():
        inner = getattr(engine, "engine", None)
        if inner is None:
            continue
        inner.template_context_processors  # noqa: B018 (imports the context processors)
        for name in _template_names(inner):
            try:
                inner.get_template(name)
            except (TemplateSyntaxError, UnicodeDecodeError, OSError):
                continue  # not a Django template after all: it only stays uncompiled
            templates += 1
    return {"templates": templates}


def _template_names(engine) -> list[str]:
    """The names of Kreis's templates (in the project's folders) and of the shared ones."""
    from django.conf import settings

    own = Path(settings.BASE_DIR).resolve()
    names: dict[str, None] = {}
    for loader in engine.template_loaders:
        for inner in getattr(loader, "loaders", [loader]):
            get_dirs = getattr(inner, "get_dirs", None)
            if get_dirs is None:
                continue
            for folder in get_dirs():
                root = Path(folder).resolve()
                if not root.is_dir():
                    continue
                ours = root.is_relative_to(own)
                for path in sorted(root.rglob("*")):
                    if path.suffix not in TEMPLATE_SUFFIXES or not path.is_file():
                        continue
                    name = path.relative_to(root).as_posix()
                    if ours or name.startswith(SHARED_TEMPLATES):
                        names.setdefault(name, None)
    return list(names)


def freeze_for_workers() -> None:
    """Warm up, collect once, and freeze everything alive (call in the master, before fork)."""
    try:
        loaded = warm_up()
    except Exception:  # a warm-up that fails must not stop the server: it only costs speed
        log.exception("warm-up before forking the web workers failed")
        loaded = {}
    gc.collect()
    gc.freeze()
    log.debug("frozen %d objects before forking (%s)", gc.get_freeze_count(), loaded)


# Inside a request, an automatic full collection only as a backstop for very long requests
# (exports, imports): after this many young-generation collections instead of Python's 10.
# (Python 3.11 also waits until the oldest generation has grown by a quarter.)
FULL_COLLECTION_BACKSTOP = 100


def gunicorn_hooks() -> dict:
    """gunicorn settings that move the collection of each request's garbage out of requests."""
    return {"post_worker_init": _worker_started, "post_request": _collect_after_response}


def _worker_started(worker) -> None:
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, FULL_COLLECTION_BACKSTOP)


def _collect_after_response(worker, req, environ, resp) -> None:
    """The response has been sent: free the request's reference cycles (model instances and
    their prefetched relations point at each other) now, while no one waits for this thread,
    instead of in some later request, ten requests' worth at once."""
    if gc.get_count()[2]:  # something reached the oldest generation since the last collection
        gc.collect()
