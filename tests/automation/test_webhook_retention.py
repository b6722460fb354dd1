"""The delivery log is kept ``KREIS_WEBHOOK_LOG_DAYS``: finished deliveries older than that
are deleted by the nightly job and ``kreis webhooks purge``; pending ones (also those waiting
for a retry) are never deleted, however old."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from kreis.automation import tasks
from kreis.automation.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(alice, subscribe):
    """Deliveries of each status, 40 days and 5 days old, by name ``<status>-<age>``."""
    subscription, _ = subscribe(alice, "http://127.0.0.1:9/", ["party.created"])
    now = timezone.now()
    made = {}
    for status in DeliveryStatus.values:
        for age in (40, 5):
            delivery = WebhookDelivery.objects.create(
                subscription=subscription,
                event_type="party.created",
                webhook_id=f"msg_{status}_{age}",
                payload={"type": "party.created", "data": {}},
                status=status,
                next_attempt_at=now + timedelta(minutes=5) if status == "pending" else None,
            )
            # created_at is set on insert (auto_now_add): age it afterwards.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                created_at=now - timedelta(days=age)
            )
            made[f"{status}-{age}"] = delivery.pk
    return made


def left(log) -> set[str]:
    kept = set(WebhookDelivery.objects.values_list("pk", flat=True))
    return {name for name, pk in log.items() if pk in kept}


def test_the_nightly_job_deletes_only_old_finished_deliveries(log):
    assert tasks.webhook_log_purge.call_local() == 3
    assert left(log) == {"pending-40", "pending-5", "succeeded-5", "failed-5", "skipped-5"}


@override_settings(KREIS_WEBHOOK_LOG_DAYS=60)
def test_the_retention_follows_the_setting(log):
    assert tasks.webhook_log_purge.call_local() == 0
    assert len(left(log)) == 8


def test_the_command_purges_with_its_own_retention(log, capsys):
    call_command("webhooks", "purge", "--days", "3")
    assert "deleted 6 finished deliveries" in capsys.readouterr().out
    assert left(log) == {"pending-40", "pending-5"}


def test_the_command_refuses_a_retention_below_one_day(log):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("webhooks", "purge", "--days", "0")
    assert len(left(log)) == 8


def test_the_purge_is_a_nightly_periodic_job():
    from huey.contrib.djhuey import HUEY

    purge = tasks.webhook_log_purge.task_class
    assert purge in HUEY._registry._periodic_tasks
    night = timezone.now().replace(hour=3, minute=40)
    assert purge().validate_datetime(night)
    assert not purge().validate_datetime(night.replace(hour=4))
