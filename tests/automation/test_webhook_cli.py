"""``kreis webhooks``: after a receiver's outage, its failed deliveries go out again in bulk."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kreis.automation.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def outage(alice, subscribe, receiver):
    subscription, _ = subscribe(alice, receiver.url, ["party.created"])
    for n in range(3):
        WebhookDelivery.objects.create(
            subscription=subscription,
            event_type="party.created",
            webhook_id=f"msg_outage_{n}",
            payload={"type": "party.created", "data": {"n": n}},
            status=DeliveryStatus.FAILED,
            attempts=7,
            response_code=503,
        )
    return subscription


def test_redeliver_sends_the_failed_deliveries_once(
    outage, receiver, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhooks", "redeliver", str(outage.pk))
    assert "queued 3 deliveries again" in capsys.readouterr().out
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == [
        "msg_outage_0",
        "msg_outage_1",
        "msg_outage_2",
    ]
    # Run again: they were delivered, so nothing more goes out.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhooks", "redeliver", str(outage.pk))
    assert "queued 0 deliveries again" in capsys.readouterr().out
    assert len(receiver.received) == 3


def test_list_deliveries_and_enable(outage, capsys):
    WebhookSubscription.objects.filter(pk=outage.pk).update(enabled=False, disabled_reason="down")
    call_command("webhooks", "list")
    assert "disabled (down)" in capsys.readouterr().out
    call_command("webhooks", "deliveries", str(outage.pk), "--status", "failed")
    assert capsys.readouterr().out.count("msg_outage_") == 3
    call_command("webhooks", "enable", str(outage.pk))
    outage.refresh_from_db()
    assert outage.enabled


def test_unknown_subscription(db):
    with pytest.raises(CommandError, match="no webhook subscription"):
        call_command("webhooks", "test", "999")
