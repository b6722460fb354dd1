"""Import of leads: e-mail and phone normalised or refused per row and column, status and
owner by name, duplicates by external ID, e-mail or name and company (as the lead form's
warning), re-import, update with tags, undo, history and search."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kreis.core.models import SearchEntry
from kreis.leads.models import Lead
from kreis.leads.services import lead_create
from kreis.migration import services
from kreis.migration.models import ImportStatus
from tests.migration.import_helpers import check, create, problems, run

pytestmark = pytest.mark.django_db

HEADER = ("external_id", "full_name", "company", "email", "phone", "status", "budget", "tags")
ROWS = [
    (
        "L-1",
        "Jörg Müller",
        "Müller GmbH",
        "Joerg@Mueller.DE",
        "0221 123456",
        "Neu",
        "1.500,00",
        "Messe",
    ),
    ("L-2", "Anna Smith", "Acme Ltd", "anna@acme.example", "+44 20 7946 0958", "contacted", "", ""),
]


def test_leads_are_created_normalised_with_history_tags_and_search(alice):
    job = run(alice, create(alice, "lead", HEADER, ROWS))
    assert job.status == ImportStatus.DONE, job.error
    assert job.created_count == 2
    lead = Lead.objects.get(external_id="L-1")
    assert (lead.first_name, lead.last_name) == ("Jörg", "Müller")
    assert (lead.email, lead.phone) == ("joerg@mueller.de", "+49221123456")
    assert (lead.status, lead.budget) == ("new", Decimal("1500.00"))
    assert lead.owner == alice
    assert [t.name for t in lead.tags.all()] == ["Messe"]
    assert lead.history.count() == 1
    assert lead.history.first().tags.count() == 1
    assert SearchEntry.objects.filter(entity="lead", object_id=lead.pk).exists()


def test_bad_rows_name_row_and_column(alice):
    header = ("last_name", "email", "phone", "status", "owner", "timeline", "budget")
    rows = [
        ("Kaputt", "not-an-address", "", "", "", "", ""),
        ("Kaputt", "", "12", "", "", "", ""),
        ("Kaputt", "", "", "verkauft", "", "", ""),
        ("Kaputt", "", "", "", "niemand", "", ""),
        ("Kaputt", "", "", "", "", "31.02.2026", "viel"),
        ("", "ok@example.com", "", "", "", "", ""),
        ("Gut", "gut@example.com", "", "", "alice", "31.12.2026", "1,5"),
    ]
    report = check(alice, create(alice, "lead", header, rows))
    assert problems(report) == {
        (2, "email"),
        (3, "phone"),
        (4, "status"),
        (5, "owner"),
        (6, "timeline"),
        (6, "budget"),
        (7, "last_name"),
    }
    assert report.valid == 1
    assert not Lead.objects.exists()


def test_duplicates_by_email_or_name_and_company_as_the_warning(alice):
    existing = lead_create(
        actor=alice,
        last_name="Müller",
        first_name="Jörg",
        company="Mueller G.m.b.H.",
        email="other@example.com",
    )
    by_mail = lead_create(actor=alice, last_name="Smith", email="anna@acme.example")
    header = ("full_name", "company", "email", "position")
    rows = [
        ("Jörg Müller", "Müller GmbH", "", "Einkauf"),
        ("A. Smith", "", "ANNA@acme.example", "CEO"),
        ("Neu Person", "", "neu@example.com", ""),
    ]
    report = check(alice, create(alice, "lead", header, rows))
    assert (report.existing, report.create) == (2, 1)
    job = run(alice, create(alice, "lead", header, rows))
    assert (job.created_count, job.updated_count) == (1, 2)
    existing.refresh_from_db()
    by_mail.refresh_from_db()
    assert (existing.position, by_mail.position) == ("Einkauf", "CEO")
    assert existing.email == "other@example.com"  # empty cells leave values alone


def test_reimport_creates_nothing_and_undo_restores_an_update(alice):
    run(alice, create(alice, "lead", HEADER, ROWS))
    again = run(alice, create(alice, "lead", HEADER, ROWS))
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 2)

    changed = [("L-1", "Jörg Müller", "Müller GmbH", "", "", "contacted", "", "VIP,Messe")]
    job = run(alice, create(alice, "lead", HEADER, changed))
    lead = Lead.objects.get(external_id="L-1")
    assert lead.status == "contacted"
    assert sorted(t.name for t in lead.tags.all()) == ["Messe", "VIP"]

    services.import_undo(actor=alice, job=job)
    lead.refresh_from_db()
    assert lead.status == "new"
    assert [t.name for t in lead.tags.all()] == ["Messe"]


def test_undo_deletes_created_leads_and_their_search_entries(alice):
    job = run(alice, create(alice, "lead", HEADER, ROWS))
    services.import_undo(actor=alice, job=job)
    assert not Lead.objects.exists()
    assert not SearchEntry.objects.filter(entity="lead").exists()


def test_a_colleagues_lead_elsewhere_is_not_touched(alice, charlie):
    theirs = lead_create(
        actor=charlie, last_name="Geheim", email="geheim@example.com", external_id="L-9"
    )
    rows = [
        ("L-9", "X Geheim", "", "", "", "", "", ""),
        ("", "Y Geheim", "", "geheim@example.com", "", "", "", ""),
    ]
    report = check(alice, create(alice, "lead", HEADER, rows))
    assert problems(report) == {(2, "external_id")}
    assert report.create == 1  # same e-mail, but charlie's lead is not alice's to update
    theirs.refresh_from_db()
    assert theirs.first_name == ""
