"""The bulk-create API's routes send one ``<record>.created`` per new record to a real
receiver on loopback, whichever way the route writes (the transactions' fast path without
``post_save``, leads, deals and activities through their services); nothing is queued when
nobody subscribes, and an import sends no per-record events."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook

from kreis.automation.models import WebhookDelivery
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def post_bulk(user_key: str, path: str, body: dict):
    return Client().post(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {user_key}",
    )


@pytest.fixture
def customer(alice, north):
    return OrganizationFactory(owner=alice, team=north, name="Hafen AG", external_id="ERP-K-1")


def transactions(customer) -> dict:
    today = timezone.localdate().isoformat()
    line = {"description": "Versand", "quantity": "1", "unit_price": "7.50"}
    return {
        "items": [
            {"kind": "invoice", "date": today, "party_external_id": "ERP-K-1", "lines": [line]},
            {"kind": "invoice", "date": today, "party_id": customer.pk, "lines": [line]},
            {"kind": "return", "date": today, "party_id": customer.pk, "lines": [line]},
        ]
    }


def leads(customer) -> dict:
    return {"items": [{"last_name": name, "company": "Hafen AG"} for name in ("Eins", "Zwei")]}


def deals(customer) -> dict:
    return {"deals": [{"name": name, "organization_id": customer.pk} for name in ("A", "B")]}


def activities(customer) -> dict:
    notes = ("Erste Notiz", "Zweite Notiz", "Dritte Notiz")
    return {"items": [{"kind": "note", "body": b, "party_external_id": "ERP-K-1"} for b in notes]}


ROUTES = [
    ("/transactions/bulk", "transaction.created", transactions),
    ("/leads/bulk", "lead.created", leads),
    ("/deals/bulk", "deal.created", deals),
    ("/activities/bulk", "activity.created", activities),
]


@pytest.mark.parametrize(("path", "event", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_each_bulk_route_sends_one_signed_event_per_new_record(
    path,
    event,
    body,
    receiver,
    subscribe,
    alice,
    customer,
    api_key_for,
    django_capture_on_commit_callbacks,
):
    subscription, secret = subscribe(alice, receiver.url, [event])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bulk(api_key_for(alice), path, body(customer))
    assert response.status_code in {200, 201}, response.json()
    ids = response.json()["ids"]
    assert len(ids) == len(next(iter(body(customer).values())))
    arrived = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
    assert sorted((m["type"], m["data"]["id"]) for m in arrived) == [(event, pk) for pk in ids]
    assert WebhookDelivery.objects.filter(subscription=subscription).count() == len(ids)


def test_bulk_transactions_with_nobody_subscribed_queue_nothing(
    receiver, subscribe, alice, customer, api_key_for, django_capture_on_commit_callbacks
):
    subscribe(alice, receiver.url, ["party.created"])  # another event only
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bulk(api_key_for(alice), "/transactions/bulk", transactions(customer))
    assert response.status_code == 201
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_bulk_events_are_queued_in_one_insert_after_the_commit(
    subscribe, alice, customer, api_key_for, django_capture_on_commit_callbacks
):
    # A target that is never reached: only the queueing is looked at here.
    subscribe(alice, "http://127.0.0.1:9/", ["transaction.created"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_bulk(api_key_for(alice), "/transactions/bulk", transactions(customer))
    assert response.status_code == 201
    assert not WebhookDelivery.objects.exists()  # nothing before the commit
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        for callback in callbacks:
            callback()
    table = WebhookDelivery._meta.db_table
    inserts = [q for q in queries if q["sql"].startswith("INSERT") and table in q["sql"]]
    assert len(inserts) == 1
    assert WebhookDelivery.objects.count() == 3


def test_an_import_sends_one_import_finished_and_no_event_per_record(
    receiver, subscribe, alice, django_capture_on_commit_callbacks
):
    from tests.migration.import_helpers import create, run

    subscribe(alice, receiver.url, ["lead.created", "import.finished"])
    header = ("external_id", "last_name", "company")
    rows = [(f"L-{i}", f"Name {i}", "Hafen AG") for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        job = run(alice, create(alice, "lead", header, rows))
    assert job.created_count == 5
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["import.finished"]
