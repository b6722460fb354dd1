"""The demo has cases in every state, one of them waiting for the customer, a reopened one and
overdue ones; closed cases of the past with costs, ratings and improvement actions."""

import datetime as dt

import pytest
from django.utils import timezone
from faker import Faker

from kreis.core.demo import DemoContext
from kreis.parties.models import Party, PartyKind
from kreis.service.demo import create_cases
from kreis.service.models import (
    Case,
    CaseCost,
    CaseRating,
    CaseStatus,
    CaseTransition,
    ImprovementAction,
)
from kreis.service.queries import overdue_q

pytestmark = pytest.mark.django_db


def test_demo_cases_cover_every_state(sam):
    for i in range(5):
        Party.objects.create(kind=PartyKind.ORGANIZATION, name=f"Demo {i} GmbH")
    fake = Faker(["en_US", "de_DE"])
    fake.seed_instance(7)
    made = create_cases(DemoContext(size="small", fake=fake, users=[sam], teams=[]))
    assert made["cases"] == Case.objects.count()
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert Case.objects.filter(waiting_for_customer=True).exists()
    assert not Case.objects.filter(owner__isnull=True).exists()
    assert all(c.root_cause_id for c in Case.objects.filter(status__in=["resolved", "closed"]))
    assert Case.objects.filter(overdue_q()).count() >= 2
    reopened = CaseTransition.objects.filter(
        from_status__in=["resolved", "closed"], to_status="in_progress"
    )
    assert reopened.exists()
    # The past two years: closed cases, their flow recorded from received to closed.
    old = Case.objects.filter(status="closed", created_at__lt=timezone.now() - dt.timedelta(30))
    assert old.count() >= 20
    for case in old[:3]:
        flow = list(case.transitions.order_by("created_at").values_list("to_status", flat=True))
        assert flow == ["received", "in_progress", "resolved", "closed"]
    assert made["case_costs"] == CaseCost.objects.count() > 0
    assert set(CaseCost.objects.values_list("kind", flat=True)) <= {
        "goodwill",
        "replacement",
        "handling",
    }
    assert made["case_ratings"] == CaseRating.objects.count() > 0
    assert ImprovementAction.objects.filter(status="done", effective_on__isnull=False).exists()
    assert ImprovementAction.objects.filter(root_cause__name_en="Manufacturing fault").exists()
