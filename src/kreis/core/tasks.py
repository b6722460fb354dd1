"""Background jobs of the core app (Huey)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.core.idempotency import purge_expired
from kreis.core.models import Notification, User


@db_periodic_task(crontab(hour="3", minute="15"))
def housekeeping() -> dict[str, int]:
    """Nightly: drop expired sessions, read notifications older than 90 days and API
    idempotency keys older than 24 hours."""
    sessions, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    cutoff = timezone.now() - timedelta(days=90)
    notifications, _ = Notification.objects.filter(read_at__lt=cutoff).delete()
    idempotency_keys = purge_expired()
    refresh_planner_statistics()
    return {
        "sessions": sessions,
        "notifications": notifications,
        "idempotency_keys": idempotency_keys,
    }


def refresh_planner_statistics() -> None:
    """Let the database's query planner know how the tables have grown. Without statistics
    SQLite walks a date index for a party's timeline instead of the party's index: seconds
    instead of milliseconds at a million activities. (PostgreSQL's autovacuum does this on
    its own; an explicit ANALYZE once a night does not hurt.)"""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # a few seconds at a million rows, once a night


@db_task()
def notify_users(user_ids: list[int], title: str, body: str = "", url: str = "") -> int:
    """Send a notification to many users at once (e.g. an administrator's announcement)."""
    users = User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True)
    Notification.objects.bulk_create(
        Notification(user_id=pk, title=title, body=body, url=url) for pk in users
    )
    return len(users)
