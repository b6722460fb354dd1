"""Static files for ``kreis serve``: collected when the manifest is missing or stale.

With ``DEBUG=0`` the pages name their CSS and JS through the manifest that ``collectstatic``
writes (hashed names, compressed by WhiteNoise). Without it every page answers 500
("Missing staticfiles manifest entry"), so the server collects them itself before it starts.
"""

from __future__ import annotations

import json
import os

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.management import call_command


def _sources() -> dict[str, float]:
    """Every static file the finders see: its path → modification time."""
    found: dict[str, float] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            found.setdefault(path, os.stat(storage.path(path)).st_mtime)
    return found


def manifest_is_current() -> bool:
    """True when the manifest names every static file and is newer than each of them."""
    manifest = settings.STATIC_ROOT / staticfiles_storage.manifest_name
    try:
        written = manifest.stat().st_mtime
        paths = json.loads(manifest.read_text(encoding="utf-8")).get("paths", {})
    except (OSError, ValueError):
        return False
    sources = _sources()
    return set(sources) <= set(paths) and all(m <= written for m in sources.values())


def ensure_static_files() -> int:
    """Run collectstatic (quietly) when the storage needs a manifest that is missing or stale.
    Returns how many files were collected (0 when nothing had to be done)."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin) or manifest_is_current():
        return 0
    call_command("collectstatic", interactive=False, verbosity=0)
    return len(_sources())
