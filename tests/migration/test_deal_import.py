"""Import of deals: pipeline and stage by German or English name, organisation and contact
by name, e-mail or key, German amounts and dates, problems per row and column, duplicates by
external ID, re-import, update with a stage change, undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kreis.core.models import SearchEntry
from kreis.migration import services
from kreis.migration.models import ImportStatus
from kreis.parties.models import ContactPoint
from kreis.sales.models import Deal, StageChange
from kreis.sales.services import ensure_default_pipeline
from tests.migration.import_helpers import check, create, problems, run
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id",
    "name",
    "stage",
    "amount",
    "expected_close",
    "organization",
    "contact_email",
)


@pytest.fixture
def parties(alice, north):
    ensure_default_pipeline(language="en")
    org = OrganizationFactory(name="Nordwind AG", owner=alice, team=north)
    person = PersonFactory(first_name="Jana", last_name="Kühn", owner=alice, team=north)
    ContactPoint.objects.create(party=person, kind="email", value="jana@nordwind.de")
    return org, person


ROWS = [
    (
        "D-1",
        "Rahmenvertrag",
        "Angebot",
        "12.500,00",
        "31.03.2026",
        "Nordwind AG",
        "jana@nordwind.de",
    ),
    ("D-2", "Wartung", "", "900", "", "nordwind ag", ""),
]


def test_deals_are_created_in_the_named_stage_with_stage_change_history_and_search(alice, parties):
    org, person = parties
    job = run(alice, create(alice, "deal", HEADER, ROWS))
    assert job.status == ImportStatus.DONE, job.error
    deal = Deal.objects.get(external_id="D-1")
    assert deal.stage.name == "Proposal"  # "Angebot" is the shipped stage in German
    assert (deal.amount, deal.expected_close) == (Decimal("12500.00"), dt.date(2026, 3, 31))
    assert (deal.organization, deal.contact, deal.owner) == (org, person, alice)
    assert Deal.objects.get(external_id="D-2").stage.name == "Qualification"
    assert StageChange.objects.filter(deal=deal, from_stage=None).count() == 1
    assert deal.history.count() == 1
    assert SearchEntry.objects.filter(entity="deal", object_id=deal.pk).exists()


def test_problems_name_row_and_column(alice, parties, charlie):
    OrganizationFactory(name="Südwind GmbH", owner=charlie, team=charlie.memberships.get().team)
    rows = [
        ("D-1", "A", "Verhandelt", "", "", "", ""),
        ("D-2", "B", "Verloren", "", "", "", ""),
        ("D-3", "C", "", "zehn", "morgen", "", ""),
        ("D-4", "D", "", "", "", "Südwind GmbH", ""),
        ("D-5", "", "", "", "", "", "niemand@example.com"),
        ("D-6", "F", "Won", "", "", "", ""),
    ]
    report = check(alice, create(alice, "deal", HEADER, rows))
    assert problems(report) == {
        (2, "stage"),
        (3, "lost_reason"),
        (4, "amount"),
        (4, "expected_close"),
        (5, "organization"),
        (6, "name"),
        (6, "contact_email"),
    }
    assert report.valid == 1


def test_reimport_creates_nothing_update_moves_the_stage_and_undo_moves_it_back(alice, parties):
    run(alice, create(alice, "deal", HEADER, ROWS))
    again = run(alice, create(alice, "deal", HEADER, ROWS))
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 2)

    won = [("D-1", "Rahmenvertrag", "Gewonnen", "13.000", "", "", "")]
    job = run(alice, create(alice, "deal", HEADER, won))
    deal = Deal.objects.get(external_id="D-1")
    assert (deal.stage.name, deal.amount) == ("Won", Decimal("13000.00"))
    assert deal.closed_at is not None
    assert deal.stage_changes.count() == 2

    services.import_undo(actor=alice, job=job)
    deal.refresh_from_db()
    assert (deal.stage.name, deal.amount, deal.closed_at) == ("Proposal", Decimal("12500.00"), None)


def test_undo_deletes_created_deals(alice, parties):
    job = run(alice, create(alice, "deal", HEADER, ROWS))
    services.import_undo(actor=alice, job=job)
    assert not Deal.objects.exists()
    assert not SearchEntry.objects.filter(entity="deal").exists()
