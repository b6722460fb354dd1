"""The webhook API and pages: a user manages their own subscriptions, an administrator all;
the secret is shown once; the delivery log and redelivery."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kreis.automation.models import WebhookDelivery, WebhookSubscription
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PUBLIC = "https://hooks.example.com/kreis"


def api(client: Client, key: str, method: str, path: str, body: dict | None = None):
    return getattr(client, method)(
        f"/api/v1{path}",
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_create_shows_the_secret_once(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    created = api(
        client,
        key,
        "post",
        "/webhooks",
        {"name": "ERP", "target_url": PUBLIC, "events": ["deal.stage_changed"]},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["owner_id"] == alice.pk
    again = api(client, key, "get", f"/webhooks/{body['id']}").json()
    assert "secret" not in again
    assert body["secret"].startswith(again["secret_hint"].rstrip("…"))
    rotated = api(client, key, "post", f"/webhooks/{body['id']}/rotate-secret").json()
    assert rotated["secret"] != body["secret"]


def test_a_private_target_is_refused_and_only_admins_may_allow_one(alice, dana, api_key_for):
    client = Client()
    private = {"name": "Local", "target_url": "http://0177.0.0.1:8080/", "events": ["lead.created"]}
    refused = api(client, api_key_for(alice), "post", "/webhooks", private)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "target_url"
    forbidden = api(
        client, api_key_for(alice), "post", "/webhooks", {**private, "allow_private_target": True}
    )
    assert forbidden.status_code == 403
    allowed = api(
        client, api_key_for(dana), "post", "/webhooks", {**private, "allow_private_target": True}
    )
    assert allowed.status_code == 201, allowed.content
    assert not WebhookSubscription.objects.filter(owner=alice).exists()


def test_unknown_events_are_refused(alice, api_key_for):
    response = api(
        Client(),
        api_key_for(alice),
        "post",
        "/webhooks",
        {"name": "X", "target_url": PUBLIC, "events": ["party.exploded"]},
    )
    assert response.status_code == 422


def _subscription(owner, name="ERP"):
    subscription = WebhookSubscription.objects.create(
        owner=owner, name=name, target_url=PUBLIC, events=["party.created"]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="party.created",
        webhook_id=f"msg_{name}",
        payload={"type": "party.created", "data": {"name": f"{name} Kunde"}},
        status="failed",
        attempts=7,
        response_code=500,
    )
    return subscription, delivery


def test_others_cannot_see_or_change_my_webhooks(alice, charlie, dana, api_key_for):
    mine, delivery = _subscription(alice)
    client = Client()
    theirs = api_key_for(charlie)
    assert api(client, theirs, "get", "/webhooks").json()["items"] == []
    assert api(client, theirs, "get", f"/webhooks/{mine.pk}").status_code == 404
    assert api(client, theirs, "get", f"/webhooks/{mine.pk}/deliveries").status_code == 404
    assert api(client, theirs, "patch", f"/webhooks/{mine.pk}", {"name": "x"}).status_code == 404
    assert api(client, theirs, "delete", f"/webhooks/{mine.pk}").status_code == 404
    redeliver = f"/webhooks/deliveries/{delivery.pk}/redeliver"
    assert api(client, theirs, "post", redeliver).status_code == 404
    mine.refresh_from_db()
    assert mine.name == "ERP"
    assert WebhookDelivery.objects.count() == 1
    # The administrator sees and manages all.
    admin = api_key_for(dana)
    assert [w["id"] for w in api(client, admin, "get", "/webhooks").json()["items"]] == [mine.pk]
    assert api(client, admin, "get", f"/webhooks/{mine.pk}/deliveries").status_code == 200


def test_the_delivery_log_and_redelivery(alice, api_key_for, django_capture_on_commit_callbacks):
    subscription, delivery = _subscription(alice)
    key = api_key_for(alice)
    client = Client()
    log = api(client, key, "get", f"/webhooks/{subscription.pk}/deliveries").json()["items"]
    assert [(d["status"], d["response_code"], d["attempts"]) for d in log] == [("failed", 500, 7)]
    assert log[0]["payload"]["data"]["name"] == "ERP Kunde"
    # Redelivery: a new entry with the same webhook-id (sent by the worker: not run here).
    with django_capture_on_commit_callbacks(execute=False):
        again = api(client, key, "post", f"/webhooks/deliveries/{delivery.pk}/redeliver")
    assert again.status_code == 202
    assert again.json()["webhook_id"] == delivery.webhook_id
    assert again.json()["status"] == "pending"
    assert WebhookDelivery.objects.filter(webhook_id=delivery.webhook_id).count() == 2


def test_a_read_only_user_manages_no_webhooks(rory):
    client = client_for(rory)
    response = client.post(
        "/integration/webhooks/new/",
        {"name": "X", "target_url": PUBLIC, "events": ["party.created"], "enabled": "on"},
    )
    assert response.status_code == 403
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("language", ["en", "de"])
def test_pages_in_both_languages(alice, language):
    subscription, delivery = _subscription(alice)
    alice.language = language
    alice.save()
    client = client_for(alice)
    expected = {
        "en": ["Webhooks", "Delivery log", "Redeliver", "Send test event", "Payload"],
        "de": ["Webhooks", "Zustellprotokoll", "Erneut senden", "Testereignis senden", "Nutzdaten"],
    }[language]
    pages = [
        "/integration/webhooks/",
        f"/integration/webhooks/{subscription.pk}/",
        f"/integration/deliveries/{delivery.pk}/",
        "/integration/webhooks/new/",
        f"/integration/webhooks/{subscription.pk}/edit/",
    ]
    text = ""
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text += response.content.decode()
    for word in expected:
        assert word in text


def test_create_in_the_web_form_shows_the_secret_once(alice):
    client = client_for(alice)
    response = client.post(
        "/integration/webhooks/new/",
        {"name": "ERP", "target_url": PUBLIC, "events": ["party.created", "deal.created"]},
        follow=True,
    )
    subscription = WebhookSubscription.objects.get(owner=alice)
    assert subscription.events == ["party.created", "deal.created"]
    assert not subscription.enabled  # the box was not ticked
    assert subscription.secret in response.content.decode()
    again = client.get(f"/integration/webhooks/{subscription.pk}/").content.decode()
    assert subscription.secret not in again
    assert subscription.secret_hint in again


def test_the_form_has_no_private_target_box_for_users(alice, dana):
    assert (
        "allow_private_target"
        not in client_for(alice).get("/integration/webhooks/new/").content.decode()
    )
    assert (
        "allow_private_target"
        in client_for(dana).get("/integration/webhooks/new/").content.decode()
    )
