"""`kreis serve`'s garbage collection: loaded before the fork, collected after the response."""

import gc
import weakref

from django.template import engines

from kreis.core import warmup


class Node:
    def __init__(self):
        self.other = None


def _cached_template_names() -> set[str]:
    loader = engines["django"].engine.template_loaders[0]
    return set(loader.get_template_cache)


def test_warm_up_compiles_kreis_templates_and_form_widgets():
    engines["django"].engine.template_loaders[0].reset()
    loaded = warmup.warm_up()
    cached = _cached_template_names()
    assert {"base.html", "parties/detail.html", "django/forms/widgets/input.html"} <= cached
    assert loaded["templates"] >= 100
    assert not any(name.startswith("admin/") for name in cached)  # only what Kreis pages use


def test_freeze_for_workers_keeps_what_is_loaded_out_of_collections():
    try:
        warmup.freeze_for_workers()
        assert gc.get_freeze_count() > 10_000
        assert "parties/detail.html" in _cached_template_names()
    finally:
        gc.unfreeze()


def test_garbage_that_reached_the_oldest_generation_is_freed_after_the_response():
    thresholds = gc.get_threshold()
    try:
        warmup._worker_started(worker=None)
        assert gc.get_threshold()[2] == warmup.FULL_COLLECTION_BACKSTOP
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle, as a model and its prefetched rows make
        gone = weakref.ref(a)
        gc.collect(1)  # alive during the request: promoted to the oldest generation
        assert gc.get_count()[2] > 0
        del a, b
        assert gone() is not None  # no young collection reaches it
        warmup._collect_after_response(worker=None, req=None, environ={}, resp=None)
        assert gone() is None
    finally:
        gc.set_threshold(*thresholds)
