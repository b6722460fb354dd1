"""The demo has cases in every state, one of them waiting for the customer."""

import pytest
from faker import Faker

from kreis.core.demo import DemoContext
from kreis.parties.models import Party, PartyKind
from kreis.service.demo import create_cases
from kreis.service.models import Case, CaseStatus

pytestmark = pytest.mark.django_db


def test_demo_cases_cover_every_state(sam):
    for i in range(5):
        Party.objects.create(kind=PartyKind.ORGANIZATION, name=f"Demo {i} GmbH")
    fake = Faker(["en_US", "de_DE"])
    fake.seed_instance(7)
    made = create_cases(DemoContext(size="small", fake=fake, users=[sam], teams=[]))
    assert made == {"cases": Case.objects.count()}
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert Case.objects.filter(waiting_for_customer=True).exists()
    assert not Case.objects.filter(owner__isnull=True).exists()
    assert all(c.root_cause_id for c in Case.objects.filter(status__in=["resolved", "closed"]))
