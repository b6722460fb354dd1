"""Starting analytics runs (UI, API): one at a time, administrators only."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings, RunStatus
from kreis.core.worker import jobs_run_immediately, worker_alive_since, worker_status

# A run that has been "running" this long died with its worker; a new one may start.
STALE_AFTER = dt.timedelta(hours=2)


def can_follow_runs(user) -> bool:
    """Runs show who started them, timings, counts and errors: administrators and sales
    managers follow them; everyone else sees only the figures."""
    return bool(user and user.is_authenticated and (user.is_admin or user.role == "sales_manager"))


def analytics_runs_fail_orphaned() -> int:
    """Mark as failed the runs still "running" that no live worker can be working on: every
    worker alive now started after the run (the one that had it died or was restarted), or
    none has sent a heartbeat for KREIS_WORKER_TIMEOUT. They no longer block a new run.
    A run of ``kreis analytics run`` counts its own process as the worker."""
    if jobs_run_immediately():
        return 0
    failed = 0
    for run in AnalyticsRun.objects.filter(status=RunStatus.RUNNING).only("pk", "started_at"):
        if worker_alive_since(run.started_at):
            continue
        failed += AnalyticsRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=_("The job worker stopped during the run (no heartbeat for %(seconds)s seconds).")
            % {"seconds": settings.KREIS_WORKER_TIMEOUT},
        )
    return failed


def analytics_run_start(*, actor, full: bool = False) -> AnalyticsRun:
    """Record a run and hand it to the job queue (run at once in tests). Refused while
    another run is in progress, and when no job worker is alive to take it."""
    from kreis.analytics.tasks import run_analytics

    if not (actor.is_admin and not actor.is_read_only):
        raise PermissionDenied
    analytics_runs_fail_orphaned()
    running = AnalyticsRun.objects.filter(
        status=RunStatus.RUNNING, started_at__gte=timezone.now() - STALE_AFTER
    ).first()
    if running is not None:
        raise ValidationError(
            _("An analytics run is in progress since %(time)s.")
            % {"time": timezone.localtime(running.started_at).strftime("%H:%M")},
            code="running",
        )
    if not jobs_run_immediately() and not worker_status().alive:
        raise ValidationError(no_worker_message(), code="no_worker")
    record = AnalyticsRun.objects.create(as_of=timezone.localdate(), started_by=actor)
    try:
        run_analytics(record.pk, full)
    except Exception:  # recorded on the run (status failed, error); the caller shows it
        record.refresh_from_db()
    return record


def no_worker_message() -> str:
    return _(
        "No job worker is running, so the run would only wait in the queue. "
        "`kreis serve` runs one (unless KREIS_EMBEDDED_WORKER=0); else start `kreis worker`."
    )


def analytics_settings_update(*, actor, **changes) -> AnalyticsSettings:
    """Change the settings; validation errors name the field. ABC's B bound must exceed A's."""
    if not (actor.is_admin and not actor.is_read_only):
        raise PermissionDenied
    cfg = AnalyticsSettings.load()
    for name, value in changes.items():
        setattr(cfg, name, value)
    cfg.full_clean()
    if cfg.abc_b <= cfg.abc_a:
        raise ValidationError({"abc_b": _("B's bound must be above A's.")})
    if cfg.dissolution_p_alive > cfg.endangered_p_alive:
        raise ValidationError(
            {"dissolution_p_alive": _("Dissolution's bound must not exceed endangerment's.")}
        )
    cfg.save()
    return cfg
