"""The relationship types' job (Huey), registered by ``kreis.marketing.apps``: applied every
night at 04:30 (after the segment counts) and on demand ("Apply now"), reporting its progress
into the cache, where the relationship types page reads it."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from kreis.core.models import User
from kreis.marketing.relationships import services

log = logging.getLogger("kreis.marketing.relationships")
PROGRESS_KEY = "marketing:relationship-types:apply"
LOCK = "marketing-relationship-types-apply"
PROGRESS_SECONDS = 6 * 3600


def progress_get() -> dict | None:
    """The running or last on-demand run: ``{state, done, total, changed, error, at}``."""
    return cache.get(PROGRESS_KEY)


def _progress(entry: dict) -> None:
    cache.set(PROGRESS_KEY, entry, PROGRESS_SECONDS)


def run_apply(*, actor_id: int | None = None) -> services.ApplyResult:
    """Apply every active type under the job lock, its progress in the cache."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    entry = {"state": "running", "done": 0, "total": 0, "changed": 0, "error": "", "at": None}

    def progress(done: int, total: int) -> None:
        entry.update(done=done, total=total)
        _progress(entry)

    _progress(entry)
    try:
        with HUEY.lock_task(LOCK):
            result = services.relationship_types_apply(actor=actor, progress=progress)
    except Exception as exc:
        entry.update(state="failed", error=str(exc)[:300], at=timezone.now().isoformat())
        _progress(entry)
        raise
    entry.update(state="done", changed=result.changed, at=timezone.now().isoformat())
    _progress(entry)
    log.info("relationship types applied: %d members, %d changed", result.members, result.changed)
    return result


@db_periodic_task(crontab(hour="4", minute="30"))
def relationship_types_nightly() -> int:
    return run_apply().changed


@db_task()
def relationship_types_apply_now(actor_id: int | None = None) -> int:
    return run_apply(actor_id=actor_id).changed


def apply_enqueue(*, actor: User) -> None:
    """Queue an application ("Apply now"); refused while one runs."""
    if not actor.has_perm("marketing.change_relationship_types"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    running = progress_get()
    if running and running.get("state") == "running":
        raise ValidationError(_("The relationship types are being applied; wait until it ends."))
    _progress({"state": "running", "done": 0, "total": 0, "changed": 0, "error": "", "at": None})
    relationship_types_apply_now(actor.pk)
