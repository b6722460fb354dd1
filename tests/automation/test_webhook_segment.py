"""Segments as a condition of webhooks (issue 13: segments usable in automation conditions):
a subscription limited to a segment gets the events about its members only — a party's own
and those of its deals — others are not sent; only who sees the segment may pick it, and a
deleted segment disables the subscription instead of widening it to every record."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from kreis.automation.models import WebhookSubscription
from kreis.core.models import Role
from kreis.marketing.segments import services as segments
from kreis.parties import services as party_services
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def machine_builders(dana):
    """A dynamic segment: organisations of the industry Maschinenbau."""
    return segments.segment_create(
        actor=dana,
        name="Maschinenbau",
        conditions=[{"field": "industry", "op": "eq", "value": "Maschinenbau"}],
    )


def test_only_events_about_the_segments_members_are_sent(
    receiver, subscribe, dana, alice, north, machine_builders, django_capture_on_commit_callbacks
):
    subscribe(dana, receiver.url, ["party.updated", "deal.created"], segment=machine_builders)
    with django_capture_on_commit_callbacks(execute=True):
        member = party_services.party_create(
            actor=alice, kind="organization", name="Fräsen AG", industry="Maschinenbau"
        )
        other = party_services.party_create(
            actor=alice, kind="organization", name="Brot KG", industry="Handel"
        )
    with django_capture_on_commit_callbacks(execute=True):
        party_services.party_update(actor=alice, party=member, name="Fräsen und Drehen AG")
        party_services.party_update(actor=alice, party=other, name="Brot und Butter KG")
        DealFactory(name="Fräszentrum", organization=member, owner=alice, team=north)
        DealFactory(name="Backofen", organization=other, owner=alice, team=north)
    sent = [json.loads(r.body) for r in receiver.received]
    assert sorted(b["type"] for b in sent) == ["deal.created", "party.updated"]
    assert {b["data"].get("name") for b in sent} == {"Fräsen und Drehen AG", "Fräszentrum"}


def test_a_deleted_segment_disables_its_subscriptions(subscribe, dana, machine_builders, receiver):
    subscription, _ = subscribe(dana, receiver.url, ["party.updated"], segment=machine_builders)
    segments.segment_delete(actor=dana, segment=machine_builders)
    subscription.refresh_from_db()
    assert subscription.enabled is False
    assert subscription.segment is None
    assert "Maschinenbau" in subscription.disabled_reason


def test_a_rep_without_lead_management_cannot_limit_to_a_segment(
    client, alice, machine_builders, api_key_for
):
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    body = {
        "name": "ERP",
        "target_url": "https://erp.example/hook",
        "events": ["party.updated"],
        "segment_id": machine_builders.pk,
    }
    answer = client.post(
        "/api/v1/webhooks",
        body,
        content_type="application/json",
        **{"HTTP_AUTHORIZATION": headers["Authorization"]},
    )
    assert answer.status_code == 422
    assert not WebhookSubscription.objects.exists()
    # The form offers no segment to her.
    page = client_for(alice).get(reverse("automation:webhook_create")).content.decode()
    assert "Only for the segment" not in page


def test_marketing_picks_the_segment_in_the_form_and_the_api_shows_and_clears_it(
    client, machine_builders, api_key_for
):
    molly = UserFactory(username="molly", role=Role.MARKETING)
    page = client_for(molly).get(reverse("automation:webhook_create")).content.decode()
    assert "Only for the segment" in page
    assert "Maschinenbau" in page
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(molly)}"}
    made = client.post(
        "/api/v1/webhooks",
        {
            "name": "Newsletter tool",
            "target_url": "https://mail.example/hook",
            "events": ["party.updated"],
            "segment_id": machine_builders.pk,
        },
        content_type="application/json",
        **auth,
    )
    assert made.status_code == 201, made.content
    assert made.json()["segment_id"] == machine_builders.pk
    url = f"/api/v1/webhooks/{made.json()['id']}"
    detail = client_for(molly).get(reverse("automation:webhook_detail", args=[made.json()["id"]]))
    assert "Maschinenbau" in detail.content.decode()
    cleared = client.patch(url, {"segment_id": None}, content_type="application/json", **auth)
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["segment_id"] is None
