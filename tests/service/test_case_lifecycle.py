"""An open complaint of high severity is a live Endangerment signal of the nightly run."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from kreis.analytics.customer.lifecycle import describe
from kreis.analytics.runs import pipeline
from kreis.commerce import services as commerce
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from kreis.service import services
from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case, CaseCategory, RootCause, case_number_from_code

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def regular_customer(name: str) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=name)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    for months in range(1, 24):
        commerce.transaction_create(
            actor=None,
            party=party,
            kind="order",
            date=TODAY - dt.timedelta(days=30 * months),
            lines=[{"description": "Goods", "quantity": Decimal(1), "unit_price": Decimal(100)}],
        )
    return party


def complaint(party: Party, severity: str):
    ensure_defaults()  # gone if a transactional test flushed the tables before
    return services.case_create(
        actor=None,
        party=party,
        channel="phone",
        category=CaseCategory.objects.get(kind="defect"),
        subject="Pumpe undicht",
        severity=severity,
        acknowledge=False,
    )


def test_open_severe_complaints_are_counted_per_party():
    a, b = regular_customer("A GmbH"), regular_customer("B GmbH")
    complaint(a, "high")
    complaint(a, "critical")
    complaint(a, "low")
    complaint(b, "medium")
    closed = complaint(b, "critical")
    for status in ("in_progress", "resolved"):
        closed = services.case_transition(
            actor=None, case=closed, to_status=status, root_cause=RootCause.objects.first()
        )

    found = pipeline._open_severe_complaints(pd.Series([a.pk, b.pk, 999_999]))
    assert found["count"].tolist() == [2, 0, 0]
    oldest = case_number_from_code(int(found["case"][0]))
    assert oldest == Case.objects.filter(party=a, severity="high").get().number
    assert np.isnan(found["case"][1:]).all()


def test_case_numbers_survive_their_number_code():
    from kreis.service.models import case_number_code

    for number in ("C-2026-000123", "C-2031-999999", "C-2026-1234567"):
        assert case_number_from_code(case_number_code(number)) == number


def test_an_open_high_severity_case_puts_the_customer_in_endangerment():
    calm, angry = regular_customer("Calm GmbH"), regular_customer("Angry GmbH")
    case = complaint(angry, "high")
    complaint(calm, "low")
    assert pipeline.run(as_of=TODAY).status == "done"
    calm.refresh_from_db()
    angry.refresh_from_db()
    assert angry.lifecycle_phase == "endangerment"
    assert angry.lifecycle_reason == "endangerment.complaint"
    assert angry.lifecycle_facts["complaints"] == 1
    assert describe(angry.lifecycle_reason, angry.lifecycle_facts) == (
        f"Endangerment: open high-severity complaint {case.number}"
    )
    assert calm.lifecycle_reason != "endangerment.complaint"
    for status in ("in_progress", "resolved", "closed"):
        case = services.case_transition(
            actor=None, case=case, to_status=status, root_cause=RootCause.objects.first()
        )
    assert pipeline.run(as_of=TODAY + dt.timedelta(days=1)).status == "done"
    angry.refresh_from_db()
    assert angry.lifecycle_reason != "endangerment.complaint"
