"""Fixtures of the processing tests: a customer's case handled by team Support North (owner
sam), an API caller, and a supplier."""

import json

import pytest
from django.test import Client

from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.models import AssignmentRule


@pytest.fixture
def customer(alice):
    return party_create(actor=alice, kind="organization", name="Pumpen Schulz GmbH")


@pytest.fixture
def case(alice, sam, support, customer, defect):
    AssignmentRule.objects.create(
        position=1, name="Defects", category=defect, assign_user=sam, assign_team=support
    )
    return services.case_create(
        actor=alice,
        party=customer,
        channel="phone",
        category=defect,
        subject="Pumpe undicht",
        description="Die Dichtung der Pumpe P-200 leckt.",
        severity="high",
        language="de",
        acknowledge=False,
    )


@pytest.fixture
def supplier(alice):
    return party_create(
        actor=alice,
        kind="organization",
        name="Dichtungswerk AG",
        roles=["supplier"],
        emails=[{"value": "reklamation@dichtungswerk.example"}],
    )


@pytest.fixture
def api(api_key_for):
    def for_user(user):
        key = api_key_for(user)

        def call(method, path, data=None):
            client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
            if method == "get":
                return client.get(f"/api/v1{path}", data or {})
            return getattr(client, method)(
                f"/api/v1{path}", json.dumps(data or {}), content_type="application/json"
            )

        return call

    return for_user
