"""Who subscribes to what, known cheaply on every save.

Every save of a party, lead, deal, activity or transaction asks "does anyone want this event?".
Most of the time nobody does, and a bulk path saving a million rows must not pay a query per
row for that answer. So the answer — event type → ids of the enabled subscriptions — is
kept in the process for ``TTL`` seconds and shared between processes through the cache.
A change of a subscription clears both here and in the cache; another process notices within
``TTL`` seconds (a subscription created in one process receives events written by another
from then on).
"""

from __future__ import annotations

import time

from django.core.cache import cache

CACHE_KEY = "kreis:webhook-subscribers"
TTL = 10.0

_memo: dict[str, object] = {"at": 0.0, "map": None}


def _load() -> dict[str, tuple[int, ...]]:
    from kreis.automation.models import WebhookSubscription

    by_event: dict[str, list[int]] = {}
    rows = WebhookSubscription.objects.filter(enabled=True).values_list("pk", "events")
    for pk, events in rows:
        for event in events or []:
            by_event.setdefault(event, []).append(pk)
    return {event: tuple(ids) for event, ids in by_event.items()}


def _map() -> dict[str, tuple[int, ...]]:
    now = time.monotonic()
    current = _memo["map"]
    if current is None or now - float(_memo["at"]) > TTL:  # type: ignore[arg-type]
        current = cache.get(CACHE_KEY)
        if current is None:
            current = _load()
            cache.set(CACHE_KEY, current, 300)
        _memo.update(at=now, map=current)
    return current  # type: ignore[return-value]


def wanted(event_type: str) -> bool:
    """Whether any enabled subscription wants this event (no query most of the time)."""
    return event_type in _map()


def subscription_ids(event_type: str) -> tuple[int, ...]:
    return _map().get(event_type, ())


def changed() -> None:
    """A subscription was created, changed or deleted: forget what we knew."""
    _memo.update(at=0.0, map=None)
    cache.delete(CACHE_KEY)
