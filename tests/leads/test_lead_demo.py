"""The demo step: leads in every status, from every source, some converted."""

import pytest
from faker import Faker

from kreis.core.demo import DEMO_STEPS, DemoContext
from kreis.leads.demo import SOURCES, create_leads
from kreis.leads.models import Lead, LeadStatus
from kreis.parties.models import Employment
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_demo_step_is_registered():
    assert create_leads in DEMO_STEPS


def test_small_demo_has_leads_in_every_status_and_source(alice, charlie, mia, north, south):
    for _ in range(5):
        Employment.objects.create(
            person=PersonFactory(owner=alice, team=north),
            organization=OrganizationFactory(owner=alice, team=north),
        )
    fake = Faker(["de_DE", "en_US"])
    Faker.seed(7)
    result = create_leads(
        DemoContext(size="small", fake=fake, users=[alice, charlie, mia], teams=[north, south])
    )
    assert result == {"leads": 120}
    assert set(Lead.objects.values_list("status", flat=True)) == set(LeadStatus.values)
    assert set(Lead.objects.values_list("source", flat=True)) == set(SOURCES)
    converted = Lead.objects.filter(status=LeadStatus.CONVERTED)
    assert all(lead.converted_person_id and lead.converted_at for lead in converted)
    assert not Lead.objects.filter(status="disqualified", disqualify_reason="").exists()
    assert Lead.objects.filter(team=south).exists()
