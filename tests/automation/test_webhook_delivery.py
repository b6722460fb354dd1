"""Webhooks end to end against a real HTTP server on loopback (allowed by an administrator):
events become signed deliveries after the commit, failures are retried with back-off, a
target that keeps failing is disabled and its owner notified, and a delivery can be sent
again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from kreis.automation import dispatch, services, subscribers
from kreis.automation.models import DeliveryStatus, WebhookDelivery, new_secret
from kreis.core.models import Notification
from kreis.migration.signals import import_finished
from kreis.parties import services as party_services
from kreis.sales import services as sales_services
from tests.sales.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


def verified(received, secret: str) -> dict:
    """The body as the receiver's own Standard Webhooks library accepts it (or raises)."""
    return Webhook(secret).verify(received.body, received.headers)


def test_new_party_arrives_signed_at_the_receiver(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party = party_services.party_create(actor=alice, kind="organization", name="Hafen AG")

    assert len(receiver.received) == 1
    arrived = receiver.received[0]
    body = verified(arrived, secret)
    assert body["type"] == "party.created"
    assert body["data"]["id"] == party.pk
    assert body["data"]["name"] == "Hafen AG"
    assert arrived.headers["webhook-id"].startswith("msg_")
    assert arrived.headers["content-type"] == "application/json"
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert (delivery.attempts, delivery.response_code) == (1, 200)
    assert delivery.webhook_id == arrived.headers["webhook-id"]


def test_a_wrong_secret_does_not_verify(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=alice, kind="organization", name="Hafen AG")
    with pytest.raises(WebhookVerificationError):
        verified(receiver.received[0], new_secret())


def test_rolled_back_change_sends_nothing(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscribe(alice, receiver.url, ["party.created"])

    def save_then_fail():
        with transaction.atomic():
            party_services.party_create(actor=alice, kind="organization", name="Gone GmbH")
            raise RuntimeError("the user's save failed after the party was written")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        save_then_fail()
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_nobody_subscribed_means_no_deliveries_and_no_query(
    alice, django_capture_on_commit_callbacks
):
    party = party_services.party_create(actor=alice, kind="organization", name="Ruhig KG")
    subscribers.wanted("party.updated")  # the map is kept now
    # Saving the party: no query of the webhook tables, nothing queued for the commit.
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as q:
        party.name = "Ruhig und Still KG"
        party.save(update_fields=["name"])
    assert q.captured_queries  # the save itself
    assert not [x["sql"] for x in q.captured_queries if "automation_" in x["sql"]]
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()


def test_only_the_chosen_events_are_sent(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscribe(alice, receiver.url, ["party.deleted"])
    with django_capture_on_commit_callbacks(execute=True):
        party = party_services.party_create(actor=alice, kind="organization", name="Weg AG")
        party_services.party_update(actor=alice, party=party, name="Weg und Steg AG")
        party_services.party_delete(actor=alice, party=party)
    assert [verified_type(r) for r in receiver.received] == ["party.deleted"]
    assert json.loads(receiver.received[0].body)["data"]["deleted_at"] is not None


def verified_type(received) -> str:
    return json.loads(received.body)["type"]


def test_deal_stage_change_event(
    receiver, subscribe, alice, north, django_capture_on_commit_callbacks
):
    deal = DealFactory(name="Wärmepumpen", owner=alice, team=north)
    subscribe(alice, receiver.url, ["deal.stage_changed"])
    target = stage_named("Negotiation")
    with django_capture_on_commit_callbacks(execute=True):
        sales_services.deal_move(actor=alice, deal=deal, stage=target)
    assert len(receiver.received) == 1
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "deal.stage_changed"
    assert body["data"]["deal"]["id"] == deal.pk
    assert body["data"]["to_stage"]["name"] == "Negotiation"
    assert body["data"]["from_stage"]["id"] != target.pk


def test_phase_change_event(receiver, subscribe, alice, django_capture_on_commit_callbacks):
    from kreis.analytics.customer.services import phase_override_set

    party = party_services.party_create(actor=alice, kind="organization", name="Kunde AG")
    subscribe(alice, receiver.url, ["party.phase_changed"])
    with django_capture_on_commit_callbacks(execute=True):
        phase_override_set(actor=alice, party=party, phase="growth", note="by hand")
    assert len(receiver.received) == 1
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "party.phase_changed"
    assert body["data"]["party"]["id"] == party.pk
    assert body["data"]["to_phase"] == "growth"


def test_import_finished_event(receiver, subscribe, alice, django_capture_on_commit_callbacks):
    from kreis.migration.models import ImportJob

    subscribe(alice, receiver.url, ["import.finished"])
    job = ImportJob.objects.create(
        entity="person",
        original_name="kontakte.csv",
        created_by=alice,
        status="done",
        total_rows=3,
        created_count=3,
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_finished.send(sender=ImportJob, job=job)
    body = json.loads(receiver.received[0].body)
    assert body["type"] == "import.finished"
    assert body["data"]["import"]["created"] == 3
    assert body["data"]["import"]["file_name"] == "kontakte.csv"


def test_records_the_owner_may_not_see_are_not_sent(
    receiver, subscribe, alice, charlie, django_capture_on_commit_callbacks
):
    subscription, _ = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=charlie, kind="organization", name="Süd GmbH")
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.attempts == 0


def test_a_failed_delivery_is_retried_with_back_off(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 200]
    subscription, secret = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=alice, kind="organization", name="Später AG")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.response_excerpt == "receiver is down"
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert wait == dispatch.RETRY_DELAYS[0] == 60

    # Not before its time, then the sweep finds it and the second attempt gets through.
    assert dispatch.attempt(delivery.pk) is None
    assert delivery.pk not in dispatch.due_ids()
    later = delivery.next_attempt_at + timedelta(seconds=1)
    assert delivery.pk in dispatch.due_ids(now=later)
    assert dispatch.attempt(delivery.pk, now=later) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 2, 200)
    assert len(receiver.received) == 2
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same message
    assert verified(second, secret)["type"] == "party.created"
    subscription.refresh_from_db()
    assert subscription.failure_streak == 0


def test_delays_grow_and_the_delivery_gives_up(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    receiver.statuses = [503]
    subscription, _ = subscribe(alice, receiver.url, ["party.created"])
    with override_settings(KREIS_WEBHOOK_DISABLE_AFTER=1000):
        with django_capture_on_commit_callbacks(execute=True):
            party_services.party_create(actor=alice, kind="organization", name="Nie AG")
        delivery = WebhookDelivery.objects.get(subscription=subscription)
        delays = []
        now = timezone.now()
        while True:
            delivery.refresh_from_db()
            if delivery.status != DeliveryStatus.PENDING:
                break
            now = delivery.next_attempt_at + timedelta(seconds=1)
            delay = dispatch.attempt(delivery.pk, now=now)
            if delay:
                delays.append(delay)
    assert delays == [300, 1800, 7200, 28800, 86400]
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == dispatch.MAX_ATTEMPTS == 7


@override_settings(KREIS_WEBHOOK_DISABLE_AFTER=3, KREIS_WEBHOOK_DISABLE_AFTER_HOURS=0)
def test_a_target_that_keeps_failing_is_disabled_and_its_owner_notified(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    subscription, _ = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=alice, kind="organization", name="Eins AG")
        party_services.party_create(actor=alice, kind="organization", name="Zwei AG")
    subscription.refresh_from_db()
    assert subscription.enabled
    assert subscription.failure_streak == 2
    first = WebhookDelivery.objects.filter(subscription=subscription).earliest("pk")
    dispatch.attempt(first.pk, now=first.next_attempt_at + timedelta(seconds=1))

    subscription.refresh_from_db()
    assert not subscription.enabled
    assert "3 failed attempts" in subscription.disabled_reason
    notice = Notification.objects.get(user=alice)
    assert "ERP sync" in notice.title
    assert notice.url == f"/integration/webhooks/{subscription.pk}/"
    # Nothing more goes out, and new events create no deliveries.
    count = len(receiver.received)
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=alice, kind="organization", name="Drei AG")
    assert len(receiver.received) == count == 3
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 2

    # Enabling it again starts afresh.
    services.subscription_update(actor=alice, subscription=subscription, enabled=True)
    subscription.refresh_from_db()
    assert (subscription.failure_streak, subscription.disabled_reason) == (0, "")


def test_redelivery_sends_the_same_message_again(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(alice, receiver.url, ["party.created"])
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_create(actor=alice, kind="organization", name="Nochmal AG")
    first = WebhookDelivery.objects.get(subscription=subscription)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.delivery_redeliver(actor=alice, delivery=first)
    again.refresh_from_db()
    assert again.pk != first.pk
    assert again.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.received) == 2
    one, two = (json.loads(r.body) for r in receiver.received)
    assert one == two
    assert receiver.received[1].headers["webhook-id"] == first.webhook_id
    verified(receiver.received[1], secret)


def test_test_event_and_rotated_secret(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    subscription, old_secret = subscribe(alice, receiver.url, ["party.created"])
    rotated = services.subscription_rotate_secret(actor=alice, subscription=subscription)
    assert rotated != old_secret
    assert rotated.startswith("whsec_")
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_send_test(actor=alice, subscription=subscription)
    arrived = receiver.received[0]
    assert verified(arrived, rotated)["type"] == "webhook.test"
    verified(arrived, old_secret)  # during the grace day both sign


def test_the_bulk_api_sends_one_event_per_new_party(
    receiver, subscribe, alice, api_key_for, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(alice, receiver.url, ["party.created"])
    items = [{"last_name": name} for name in ("Eins", "Zwei", "Drei")]
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/api/v1/persons/bulk",
            json.dumps({"items": items}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}",
        )
    assert response.status_code == 201
    names = sorted(verified(r, secret)["data"]["last_name"] for r in receiver.received)
    assert names == ["Drei", "Eins", "Zwei"]
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == 3
