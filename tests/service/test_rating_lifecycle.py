"""A poor resolution rating (1 or 2 of 5) within the detractor window is a live Endangerment
signal of the nightly run; a good one is none."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone, translation

from kreis.analytics.customer.lifecycle import classify, describe
from kreis.analytics.runs import pipeline
from kreis.commerce import services as commerce
from kreis.core.tokens import hash_token
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from kreis.service import rating, services
from kreis.service.defaults import ensure_defaults
from kreis.service.models import (
    CaseCategory,
    CaseRating,
    RatingToken,
    RootCause,
    case_number_from_code,
)
from tests.analytics.test_lifecycle import AS_OF, ago, customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def regular_customer(name: str, today: dt.date) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=name)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    for months in range(1, 24):
        commerce.transaction_create(
            actor=None,
            party=party,
            kind="order",
            date=today - dt.timedelta(days=30 * months),
            lines=[{"description": "Goods", "quantity": Decimal(1), "unit_price": Decimal(100)}],
        )
    return party


def rated_case(party: Party, value: int, *, days_ago: int = 0):
    """A low-severity case of the party, closed, rated ``value`` through its link."""
    ensure_defaults()  # gone if a transactional test flushed the tables before
    case = services.case_create(
        actor=None,
        party=party,
        channel="phone",
        category=CaseCategory.objects.get(kind="defect"),
        subject="Pumpe undicht",
        severity="low",
        acknowledge=False,
    )
    for status in ("in_progress", "resolved", "closed"):
        case = services.case_transition(
            actor=None, case=case, to_status=status, root_cause=RootCause.objects.first()
        )
    raw = "token-" + case.number  # the closing e-mail's link, without the e-mail
    RatingToken.objects.create(
        case=case, token_hash=hash_token(raw), expires_at=timezone.now() + dt.timedelta(days=30)
    )
    result = rating.rating_submit(raw_token=raw, rating=value)
    if days_ago:
        moment = timezone.now() - dt.timedelta(days=days_ago)
        CaseRating.objects.filter(pk=result.pk).update(created_at=moment)
    return case


def test_the_last_poor_rating_is_read_per_party():
    today = timezone.now().date()
    a, b, c = (regular_customer(n, today) for n in ("A GmbH", "B GmbH", "C GmbH"))
    rated_case(a, 1, days_ago=40)
    latest = rated_case(a, 2)
    rated_case(b, 4)  # a good rating is no signal
    rated_case(c, 3)
    found = pipeline._last_poor_rating(pd.Series([a.pk, b.pk, c.pk, 999_999]))
    assert found["poor_rating_at"][0] == np.datetime64(timezone.now().date(), "D")
    assert found["poor_rating"][0] == 2
    assert case_number_from_code(int(found["poor_rating_case"][0])) == latest.number
    assert pd.isna(found["poor_rating_at"][1:]).all()
    assert np.isnan(found["poor_rating"][1:]).all()


def test_a_rating_of_two_puts_the_customer_in_endangerment_and_four_does_not():
    today = timezone.now().date()
    unhappy = regular_customer("Unzufrieden GmbH", today)
    happy = regular_customer("Zufrieden GmbH", today)
    late = regular_customer("Alt GmbH", today)
    case = rated_case(unhappy, 2)
    rated_case(happy, 4)
    rated_case(late, 1, days_ago=120)  # outside the 90-day window of detractor answers
    assert pipeline.run(as_of=today).status == "done"
    for party in (unhappy, happy, late):
        party.refresh_from_db()
    assert unhappy.lifecycle_phase == "endangerment"
    assert unhappy.lifecycle_reason == "endangerment.poor_rating"
    assert unhappy.lifecycle_facts["rating"] == 2
    date = today.isoformat()
    assert describe(unhappy.lifecycle_reason, unhappy.lifecycle_facts) == (
        f"Endangerment: the resolution of complaint {case.number} was rated 2 of 5 on {date}"
    )
    with translation.override("de"):
        assert describe(unhappy.lifecycle_reason, unhappy.lifecycle_facts) == (
            f"Gefährdung: die Lösung der Beschwerde {case.number} wurde am {date} mit 2 von 5 "
            "bewertet"
        )
    assert happy.lifecycle_phase != "endangerment"
    assert happy.lifecycle_reason != "endangerment.poor_rating"
    assert late.lifecycle_reason != "endangerment.poor_rating"


def test_the_poor_rating_window_is_the_detractor_window():
    def reason(days: int, value: int = 2) -> str:
        row = customer(poor_rating_at=ago(days), poor_rating=value, poor_rating_case=2026e9 + 12)
        return str(classify(pd.DataFrame([row]), AS_OF)["reason"].iloc[0])

    assert reason(0) == "endangerment.poor_rating"
    assert reason(90) == "endangerment.poor_rating"
    assert reason(91) == "maturity.stable"
    row = customer(poor_rating_at=ago(3), poor_rating=1, poor_rating_case=2026e9 + 12)
    facts = classify(pd.DataFrame([row]), AS_OF)["facts"].iloc[0]
    assert describe("endangerment.poor_rating", facts) == (
        f"Endangerment: the resolution of complaint C-2026-000012 was rated 1 of 5 on {ago(3)}"
    )
    detractor_too = customer(detractor_at=ago(3), poor_rating_at=ago(3), poor_rating=1)
    facts = classify(pd.DataFrame([detractor_too]), AS_OF)["facts"].iloc[0]
    assert facts["signals"] == ["endangerment.detractor", "endangerment.poor_rating"]
