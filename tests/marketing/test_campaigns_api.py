"""The campaigns API: CRUD, costs, members and responses, the funnel, event registrations,
the attribution of a lead and a deal; who may do what."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from kreis.core.models import Role
from kreis.marketing.campaigns.services import record_touch
from kreis.marketing.models import Campaign, CampaignMember
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def molly(north):
    user = UserFactory(username="molly", first_name="Molly", last_name="Marx", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


def _call(user, api_key_for, method, url, body=None, **headers):
    client = client_for(user)
    scope = "read" if user.is_read_only else "read_write"
    headers["HTTP_AUTHORIZATION"] = f"Bearer {api_key_for(user, scope=scope)}"
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json", **headers
    )


def test_campaign_roundtrip_with_costs_members_and_funnel(molly, alice, api_key_for):
    created = _call(
        molly,
        api_key_for,
        "post",
        "/api/v1/campaigns",
        {"name": "Webinar", "code": "webinar-1", "channel": "web", "budget": "800"},
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    empty = _call(molly, api_key_for, "get", f"{base}/funnel").json()
    assert empty["leads"] == 0
    assert empty["cost_per_lead"] is None
    assert empty["roi"] is None
    cost = _call(
        molly,
        api_key_for,
        "post",
        f"{base}/costs",
        {"date": "2027-02-01", "category": "media", "amount": "300.00"},
    )
    assert cost.status_code == 201, cost.content
    lead = LeadFactory(owner=molly)
    added = _call(molly, api_key_for, "post", f"{base}/members", {"lead_ids": [lead.pk]})
    assert added.json() == {"added": 1, "skipped": 0}
    again = _call(molly, api_key_for, "post", f"{base}/members", {"lead_ids": [lead.pk]})
    assert again.json() == {"added": 0, "skipped": 1}
    members = _call(molly, api_key_for, "get", f"{base}/members").json()
    member_id = members["items"][0]["id"]
    marked = _call(
        molly,
        api_key_for,
        "post",
        f"{base}/members/mark",
        {"member_ids": [member_id], "response": "opened"},
    )
    assert marked.json() == {"changed": 1}
    assert CampaignMember.objects.get(pk=member_id).opened_at is not None
    record_touch(
        campaign=Campaign.objects.get(pk=campaign["id"]),
        kind="form",
        at=timezone.now() - timedelta(days=1),
        lead=lead,
    )
    funnel = _call(molly, api_key_for, "get", f"{base}/funnel?model=last").json()
    assert funnel["leads"] == 1
    assert funnel["cost_per_lead"] == "300.00"
    attribution = _call(molly, api_key_for, "get", f"/api/v1/leads/{lead.pk}/attribution").json()
    assert attribution["first_campaign"] == "Webinar"
    # A taken code is a validation problem, not a server error.
    clash = _call(
        molly,
        api_key_for,
        "post",
        "/api/v1/campaigns",
        {"name": "Other", "code": "WEBINAR-1", "channel": "web"},
    )
    assert clash.status_code == 422
    assert clash["Content-Type"].startswith("application/problem+json")


def test_sales_rep_may_not_read_or_change_campaigns(molly, alice, rory, api_key_for):
    campaign = Campaign.objects.create(name="Fair", code="fair", channel="event", owner=molly)
    assert _call(alice, api_key_for, "get", "/api/v1/campaigns").status_code == 403
    patch = _call(alice, api_key_for, "patch", f"/api/v1/campaigns/{campaign.pk}", {"name": "Mine"})
    assert patch.status_code == 404
    assert _call(rory, api_key_for, "get", f"/api/v1/campaigns/{campaign.pk}").status_code == 200
    denied = _call(
        rory,
        api_key_for,
        "post",
        f"/api/v1/campaigns/{campaign.pk}/costs",
        {"date": "2027-02-01", "category": "venue", "amount": "10"},
    )
    assert denied.status_code == 403
    renamed = _call(
        molly, api_key_for, "patch", f"/api/v1/campaigns/{campaign.pk}", {"name": "Fair 2027"}
    )
    assert renamed.json()["name"] == "Fair 2027"


def test_event_registration_through_the_api_respects_capacity(molly, api_key_for):
    event = Campaign.objects.create(
        name="Roadshow", code="roadshow", channel="event", owner=molly, event_capacity=1
    )
    url = f"/api/v1/campaigns/{event.pk}/registrations"
    first = _call(molly, api_key_for, "post", url, {"last_name": "Ilg", "email": "ilg@example.org"})
    assert first.status_code == 201, first.content
    assert first.json()["lead_created"] is True
    full = _call(molly, api_key_for, "post", url, {"last_name": "Ott", "email": "ott@example.org"})
    assert full.status_code == 422
    assert "The event is full" in full.content.decode()
    member_id = first.json()["member"]["id"]
    attended = _call(
        molly,
        api_key_for,
        "post",
        f"/api/v1/campaigns/{event.pk}/members/{member_id}/attendance",
        {"attended": True},
    )
    assert attended.json()["attended_at"] is not None
