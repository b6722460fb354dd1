"""Connectors: saving them (administrators only) and running them.

A run claims the connector (a conditional UPDATE on ``running_since``, so the hourly run and
"Run now" never import at once), finds what is new (``inputs``), and imports each new file
through the import engine as the connector's ``run_as`` user, with its mapping template and
duplicate mode, skipping invalid rows (nobody is there to fix them; they are kept as the
import's error rows). The import runs to its end inside the run, so a run that finished has
imported everything, which is what puts yesterday's orders before the nightly analytics
(see ``tasks``). Importing the same orders again creates nothing: the transactions handler
matches ``external_id``.

Each run is kept in ``state["runs"]`` (the last ``KEEP_RUNS``) with its imports, and as a
one-line ``last_status``. A failed run notifies the ``run_as`` user and the administrators,
once a day; the hourly task tries a failed run again in the next hours of the same day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kreis.core import netguard
from kreis.core.models import Notification, Role, User
from kreis.core.services import notification_create
from kreis.migration import services as imports
from kreis.migration.connectors import inputs
from kreis.migration.models import (
    Connector,
    ConnectorKind,
    ImportJob,
    ImportSource,
    ImportStatus,
    MappingTemplate,
)

log = logging.getLogger(__name__)

KEEP_RUNS = 30
STALE_CLAIM = timedelta(hours=6)  # a run claimed longer ago died with its worker
FIELDS = (
    "name",
    "kind",
    "entity",
    "location",
    "template",
    "duplicate_mode",
    "schedule_hour",
    "enabled",
    "allow_private",
    "move_done",
    "run_as",
)


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied


def connector_check(connector: Connector) -> None:
    """Everything a connector must satisfy to be saved (also from the Django admin)."""
    connector.full_clean(exclude=["state"])
    errors: dict[str, list[str]] = {}
    if connector.schedule_hour > 23:
        errors["schedule_hour"] = [_("Enter an hour from 0 to 23.")]
    template = connector.template
    if template is not None and template.entity != connector.entity:
        errors["template"] = [_("The mapping template is for another record type.")]
    if connector.run_as_id is None:
        errors["run_as"] = [_("Choose the user the imports are made as.")]
    elif not connector.run_as.is_active:
        errors["run_as"] = [_("This user is inactive.")]
    elif connector.run_as.is_read_only:
        errors["run_as"] = [_("A read-only user cannot import.")]
    if errors:
        raise ValidationError(errors)
    inputs.check_location(
        kind=connector.kind, location=connector.location, allow_private=connector.allow_private
    )


def connector_create(*, actor: User | None, **fields: Any) -> Connector:
    """Create a connector; its folder or URL is checked as a run would check it."""
    _require_admin(actor)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown connector fields: {sorted(unknown)}")
    connector = Connector(**fields)
    connector_check(connector)
    connector.save()
    return connector


def connector_update(*, actor: User | None, connector: Connector, **fields: Any) -> Connector:
    """Change a connector. A new folder or URL starts afresh: what the old one imported is
    forgotten (a new URL is fetched unconditionally; a new folder's files are all new)."""
    _require_admin(actor)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown connector fields: {sorted(unknown)}")
    moved = "location" in fields and fields["location"] != connector.location
    for name, value in fields.items():
        setattr(connector, name, value)
    connector_check(connector)
    if moved:
        connector.state = {"runs": connector.state.get("runs", [])}
    connector.save()
    return connector


def connector_delete(*, actor: User | None, connector: Connector) -> None:
    """Delete a connector; its imports stay (and can still be undone)."""
    _require_admin(actor)
    connector.delete()


def template_choices(*, entity: str | None = None):
    """Mapping templates a connector may use: the shared ones and those of administrators."""
    qs = MappingTemplate.objects.filter(Q(shared=True) | Q(owner__role=Role.ADMIN))
    if entity:
        qs = qs.filter(entity=entity)
    return qs.select_related("owner")


@dataclass
class RunResult:
    """One run: its outcome code (``imported``, ``nothing_new``, ``waiting``, ``failed``,
    ``busy``), the imports it made, and what went wrong."""

    outcome: str
    jobs: list[ImportJob] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome not in {"failed", "busy"} and not self.error


def describe(run: dict[str, Any]) -> str:
    """A run from ``state["runs"]`` as one line in the active language."""
    outcome = run.get("outcome")
    if outcome == "busy":
        return _("Already running.")
    parts = []
    files = run.get("files", len(run.get("jobs", [])))  # the imports that ended done
    if files:
        parts.append(
            ngettext(
                "%(files)d file imported: %(created)d created, %(updated)d updated, "
                "%(skipped)d skipped, %(failed)d failed.",
                "%(files)d files imported: %(created)d created, %(updated)d updated, "
                "%(skipped)d skipped, %(failed)d failed.",
                files,
            )
            % {"files": files, **run["counts"]}
        )
    elif outcome != "failed" and not run.get("jobs"):
        parts.append(_("Nothing new."))
    if run.get("waiting"):
        parts.append(
            _("Still being written, tried again next hour: %(files)s.")
            % {"files": ", ".join(run["waiting"])}
        )
    if run.get("error"):
        parts.append(_("Failed: %(error)s") % {"error": run["error"]})
    return " ".join(parts)


def last_result(connector: Connector) -> str:
    """The last run in the active language (``last_status`` keeps it in the default one)."""
    runs = connector.state.get("runs")
    return describe(runs[0]) if runs else connector.last_status


def _claim(connector: Connector, now: datetime) -> bool:
    claimed = (
        Connector.objects.filter(pk=connector.pk)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_CLAIM))
        .update(running_since=now)
    )
    return claimed == 1


def _import(connector: Connector, item: inputs.Input) -> ImportJob:
    """One new file through the import engine, to its end, as the connector's user."""
    with item.path.open("rb") as handle:
        job = imports.import_create(
            actor=connector.run_as,
            upload=File(handle, name=item.name),
            name=item.name,
            entity=connector.entity,
            source=ImportSource.CONNECTOR,
            template=connector.template,
            duplicate_mode=connector.duplicate_mode,
            options={"skip_invalid": True},
        )
    ImportJob.objects.filter(pk=job.pk).update(connector=connector)
    job.connector = connector
    # Marked queued only, and run to its end here: not later, behind other jobs in the queue.
    imports.import_start(actor=connector.run_as, job=job, background=False)
    imports.import_run(job.pk)
    job.refresh_from_db()
    return job


def _record(connector: Connector, result: RunResult, now: datetime) -> dict[str, Any]:
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    for job in result.jobs:
        counts["created"] += job.created_count
        counts["updated"] += job.updated_count + job.merged_count
        counts["skipped"] += job.skipped_count
        counts["failed"] += job.failed_count
    run = {
        "at": now.isoformat(),
        "outcome": result.outcome,
        "jobs": [job.pk for job in result.jobs],
        "files": sum(job.status == ImportStatus.DONE for job in result.jobs),
        "counts": counts,
        "waiting": result.waiting,
        "error": result.error,
    }
    runs = [run, *connector.state.get("runs", [])][:KEEP_RUNS]
    connector.state["runs"] = runs
    connector.state["retry"] = bool(result.waiting) or not result.ok
    with translation.override(settings.LANGUAGE_CODE):
        connector.last_status = describe(run)[:300]
    return run


def connector_run(*, connector: Connector, actor: User | None = None) -> RunResult:
    """Import what is new for this connector now (``actor``: who pressed "Run now", checked
    to be an administrator; ``None`` for the scheduler)."""
    _require_admin(actor)
    now = timezone.now()
    if not _claim(connector, now):
        return RunResult("busy")
    connector.refresh_from_db()
    result = RunResult("nothing_new")
    try:
        if not imports.can_import(connector.run_as):
            raise ValidationError(
                _("%(user)s may not import (inactive or read-only): choose another user.")
                % {"user": connector.run_as}
            )
        found = inputs.find_inputs(connector)
        result.waiting = found.waiting
        problems = []  # one file that cannot be imported does not hold up the others
        for item in found.inputs:
            try:
                job = _import(connector, item)
            except ValidationError as exc:
                problems.append(f"{item.name}: {' '.join(exc.messages)}")
                continue
            finally:
                if item.temporary:
                    item.path.unlink(missing_ok=True)
            result.jobs.append(job)
            if job.status == ImportStatus.DONE:
                inputs.mark_done(connector, item, job_id=job.pk)
            else:
                problems.append(
                    _("The import of %(file)s ended as “%(status)s”: %(error)s")
                    % {"file": item.name, "status": job.get_status_display(), "error": job.error}
                )
        if any(job.status == ImportStatus.DONE for job in result.jobs):
            result.outcome = "imported"
        elif found.waiting and not problems:
            result.outcome = "waiting"
        if problems:
            result.outcome = "failed" if result.outcome == "nothing_new" else result.outcome
            result.error = " ".join(problems)[:2000]
    except (
        netguard.TargetRefused,
        netguard.ResponseTooLarge,
        TimeoutError,
        OSError,
        ValidationError,
    ) as exc:
        result.outcome = "failed"
        result.error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    except Exception as exc:  # recorded and reported; the claim is released below
        log.exception("connector %s failed", connector.pk)
        result.outcome = "failed"
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    run = _record(connector, result, now)
    today = str(timezone.localdate(now))
    attention = bool(result.error or run["counts"]["failed"])
    first_today = attention and connector.state.get("attention_on") != today
    if attention:
        connector.state["attention_on"] = today
    connector.last_run_at = now
    connector.running_since = None
    # An update, not save(): a connector deleted meanwhile stays deleted, and one moved to
    # another folder or URL meanwhile keeps its fresh start (only the run is added).
    moved = Connector.objects.filter(pk=connector.pk).exclude(location=connector.location)
    if moved.exists():
        connector.state = {"runs": connector.state["runs"]}
    saved = Connector.objects.filter(pk=connector.pk).update(
        state=connector.state,
        last_status=connector.last_status,
        last_run_at=now,
        running_since=None,
    )
    if saved and first_today:
        _notify(connector, run)
    return result


def _notify(connector: Connector, run: dict[str, Any]) -> None:
    """Tell the connector's user and the administrators that a run failed or left rows out,
    each in their own language (once a day per connector)."""
    admins = User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
    recipients = {user.pk: user for user in [connector.run_as, *admins] if user.is_active}
    url = reverse("migration:connector_detail", args=[connector.pk])
    for user in recipients.values():
        with translation.override(user.language or settings.LANGUAGE_CODE):
            notification_create(
                user=user,
                title=(
                    _("Connector “%(name)s” failed")
                    if run["error"]
                    else _("Connector “%(name)s”: some rows were not imported")
                )
                % {"name": connector.name},
                body=describe(run),
                url=url,
                level=Notification.Level.WARNING,
            )


def connector_is_due(connector: Connector, *, now: datetime) -> bool:
    """Due once a day from its hour on (in the instance's time zone), and again in the next
    hours of that day while files are still being written or the last run failed."""
    if not connector.enabled:
        return False
    local = timezone.localtime(now)
    if local.hour < connector.schedule_hour:
        return False
    if connector.last_run_at is None:
        return True
    if timezone.localdate(connector.last_run_at) < local.date():
        return True
    return bool(connector.state.get("retry"))


def connectors_run_due(*, now: datetime | None = None) -> list[tuple[Connector, RunResult]]:
    """Run every connector that is due, one after the other."""
    now = now or timezone.now()
    done = []
    for connector in Connector.objects.filter(enabled=True).select_related("run_as", "template"):
        if connector_is_due(connector, now=now):
            done.append((connector, connector_run(connector=connector)))
    return done


def location_label(connector: Connector) -> str:
    """The folder or URL for lists and messages, without a password in the URL."""
    if connector.kind != ConnectorKind.URL:
        return connector.location
    try:
        target = netguard.parse_target(connector.location)
    except netguard.TargetRefused:
        return connector.location
    if target.auth is None:
        return connector.location
    user = target.auth.split(":", 1)[0]
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{target.scheme}://{user}:***@{host}:{target.port}{target.path}"
