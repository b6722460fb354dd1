"""Starting analytics runs (UI, API): one at a time, administrators only."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings, RunStatus

# A run that has been "running" this long died with its worker; a new one may start.
STALE_AFTER = dt.timedelta(hours=2)


def can_follow_runs(user) -> bool:
    """Runs show who started them, timings, counts and errors: administrators and sales
    managers follow them; everyone else sees only the figures."""
    return bool(user and user.is_authenticated and (user.is_admin or user.role == "sales_manager"))


def analytics_run_start(*, actor, full: bool = False) -> AnalyticsRun:
    """Record a run and hand it to the job queue (run at once in tests and without a worker)."""
    from kreis.analytics.tasks import run_analytics

    if not (actor.is_admin and not actor.is_read_only):
        raise PermissionDenied
    running = AnalyticsRun.objects.filter(
        status=RunStatus.RUNNING, started_at__gte=timezone.now() - STALE_AFTER
    ).first()
    if running is not None:
        raise ValidationError(
            _("An analytics run is in progress since %(time)s.")
            % {"time": timezone.localtime(running.started_at).strftime("%H:%M")},
            code="running",
        )
    record = AnalyticsRun.objects.create(as_of=timezone.localdate(), started_by=actor)
    try:
        run_analytics(record.pk, full)
    except Exception:  # recorded on the run (status failed, error); the caller shows it
        record.refresh_from_db()
    return record


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
