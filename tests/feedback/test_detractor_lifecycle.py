"""A detractor answer (NPS 0–6) within the window is a live Endangerment signal of the run."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import timezone

from kreis.analytics.runs import pipeline
from kreis.commerce import services as commerce
from kreis.feedback import services
from kreis.feedback.models import Response, SurveyMethod
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from tests.feedback.conftest import build_survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def regular_customer(name: str, today: dt.date, team) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=name, team=team)
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


def answer(marta, survey, q, party, nps_value: int):
    return services.response_enter(
        actor=marta,
        survey=survey,
        party=party,
        channel="phone",
        raw_answers={q["nps"].pk: {"value": nps_value}, q["repurchase"].pk: {"value": 3}},
    )


def test_last_detractor_answer_is_read_per_party(marta, north):
    today = timezone.now().date()
    survey, q = build_survey(marta, method=SurveyMethod.PHONE)
    a = regular_customer("A GmbH", today, north)
    b = regular_customer("B GmbH", today, north)
    old = answer(marta, survey, q, a, 2)
    Response.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    answer(marta, survey, q, a, 6)
    answer(marta, survey, q, b, 7)  # a passive is no detractor
    days = pipeline._last_detractor_answer(pd.Series([a.pk, b.pk, 999_999]))
    assert days[0] == pd.Timestamp(timezone.now()).to_datetime64().astype("datetime64[D]")
    assert pd.isna(days[1])
    assert pd.isna(days[2])


def test_a_detractor_answer_puts_the_customer_in_endangerment(marta, north):
    today = timezone.now().date()
    survey, q = build_survey(marta, method=SurveyMethod.PHONE)
    fan = regular_customer("Fan GmbH", today, north)
    critic = regular_customer("Kritik GmbH", today, north)
    late = regular_customer("Alt GmbH", today, north)
    answer(marta, survey, q, fan, 10)
    answer(marta, survey, q, critic, 3)
    stale = answer(marta, survey, q, late, 0)
    # Outside the 90-day window: no longer a signal.
    Response.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(days=120))
    assert pipeline.run(as_of=today).status == "done"
    for party in (fan, critic, late):
        party.refresh_from_db()
    assert critic.lifecycle_phase == "endangerment"
    assert critic.lifecycle_reason == "endangerment.detractor"
    assert fan.lifecycle_reason != "endangerment.detractor"
    assert late.lifecycle_reason != "endangerment.detractor"
