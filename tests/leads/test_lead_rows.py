"""The lead list's rows, built in Python ({% lead_rows %}), are exactly what the template
made: rendered both ways for a rep, a read-only user, in German, with custom columns, tags,
missing values, every status and markup in the data, and for an empty list."""

from pathlib import Path

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.template import engines
from django.template.loader import get_template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kreis.core.customfields import custom_columns
from kreis.core.models import CustomField
from kreis.leads import queries
from kreis.leads.models import LeadStatus
from kreis.parties.models import Tag
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

# leads/_rows.html as it was before the rows were built in Python (commit ec506fa), with the
# score and predicted score columns added since.
TEMPLATE = (Path(__file__).parent / "lead_rows_before.html").read_text()


def _both(user, **filters):
    """The old template on full rows, the tag on the list's rows (``lead_list_rows``)."""
    leads = queries.lead_list_for_user(user=user, **filters)
    context = {"user": user, "query": "status=new", "custom_columns": custom_columns("lead")[:3]}
    page = Paginator(leads, 25).get_page(1)
    before = engines["django"].from_string(TEMPLATE).render({**context, "page": page})
    page = Paginator(queries.lead_list_rows(leads), 25).get_page(1)
    list(page)  # the rows and their tags: 2 queries; rendering them needs none
    with CaptureQueriesContext(connection) as rendering:
        after = get_template("leads/_rows.html").render({**context, "page": page})
    assert len(rendering) == 0
    return before, after


@pytest.fixture
def leads(alice, bob, north):
    for key, kind, choices in (
        ("industry", "choice", ["Bau", "IT & <Tech>"]),
        ("vip", "boolean", []),
        ("areas", "multi_choice", ["Nord", "Süd"]),
    ):
        CustomField.objects.create(
            entity="lead", key=key, label=key.title(), type=kind, choices=choices
        )
    tags = [Tag.objects.create(name="Messe <2026>"), Tag.objects.create(name="A&B")]
    made = [
        LeadFactory(
            owner=alice,
            team=north,
            status=status,
            first_name='Jörg "J"',
            last_name="<b>Müller</b> & Söhne",
            company="O'Brien <GmbH>",
            email="j&m@example.de",
            phone="+4930123",
            source="Web & <Print>",
            custom={"industry": "IT & <Tech>", "vip": True, "areas": ["Nord", "Süd"]},
        )
        for status in LeadStatus.values
    ]
    made[0].tags.set(tags)
    LeadFactory(owner=None, team=north, first_name="", last_name="Ohne", company="", source="")
    LeadFactory(owner=bob, team=north, first_name="Nur", last_name="", custom={"vip": False})
    return made


def test_rows_are_what_the_template_made(leads, alice):
    before, after = _both(alice)
    assert after.count("<tr>") == 1 + 7
    assert after == before


def test_rows_for_a_read_only_user_have_no_checkboxes(leads, rory):
    before, after = _both(rory)
    assert 'name="ids"' not in after
    assert after == before


def test_rows_in_german(leads, alice):
    with translation.override("de"):
        before, after = _both(alice)
    assert "Kontaktiert" in after or "Neu" in after
    assert after == before


def test_no_rows(alice):
    before, after = _both(alice, search="nothing like this")
    assert "No leads match." in after
    assert after == before
