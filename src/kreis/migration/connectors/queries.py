"""Reading connectors: administrators only (a connector reads server folders and imports as
another user); anyone else gets a 404, as if there were none."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.dateparse import parse_datetime

from kreis.core.models import User
from kreis.migration.models import Connector, ImportJob


def _require_admin(user: User) -> None:
    if not (user.is_authenticated and user.is_admin):
        raise Http404


def connector_list_for_user(*, user: User) -> QuerySet[Connector]:
    _require_admin(user)
    return Connector.objects.select_related("run_as", "template").order_by("name")


def connector_get_for_user(*, user: User, pk: int) -> Connector:
    _require_admin(user)
    try:
        return connector_list_for_user(user=user).get(pk=pk)
    except Connector.DoesNotExist as exc:
        raise Http404 from exc


def connector_runs(connector: Connector, *, limit: int = 30) -> list[dict]:
    """The connector's last runs, newest first, each with its import jobs (in run order)."""
    runs = connector.state.get("runs", [])[:limit]
    ids = {pk for run in runs for pk in run.get("jobs", [])}
    jobs = ImportJob.objects.in_bulk(ids) if ids else {}
    return [
        {
            **run,
            "at": parse_datetime(run["at"]),
            "imports": [jobs[pk] for pk in run.get("jobs", []) if pk in jobs],
        }
        for run in runs
    ]
