"""Import of activities: kinds and call outcomes by German or English label, German dates
and times, party by name, e-mail or key, deal and lead by key, the kinds' rules per row and
column, duplicates by external ID, re-import, update and undo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.leads.services import lead_create
from kreis.migration import services
from kreis.migration.models import ImportStatus
from kreis.parties.models import ContactPoint
from tests.migration.import_helpers import check, create, problems, run
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id",
    "kind",
    "subject",
    "occurred_at",
    "direction",
    "outcome",
    "duration_minutes",
    "party",
    "party_email",
    "lead_external_id",
)


@pytest.fixture
def customer(alice, north):
    org = OrganizationFactory(name="Nordwind AG", owner=alice, team=north)
    ContactPoint.objects.create(party=org, kind="email", value="info@nordwind.de")
    return org


ROWS = [
    (
        "A-1",
        "Anruf",
        "Rückruf Angebot",
        "15.01.2026 14:30",
        "ausgehend",
        "Erreicht",
        "12",
        "Nordwind AG",
        "",
        "",
    ),
    ("A-2", "meeting", "Messe", "2026-01-16", "", "", "", "", "INFO@nordwind.de", ""),
    ("A-3", "Aufgabe", "Angebot schicken", "20.01.2030 09:00", "", "", "", "", "", "L-1"),
]


def test_activities_land_on_the_timeline_of_the_named_records(alice, customer):
    lead = lead_create(actor=alice, last_name="Kühn", external_id="L-1")
    rows = [(*ROWS[0][:9], ""), ROWS[1], ROWS[2]]
    job = run(alice, create(alice, "activity", HEADER, rows))
    assert job.status == ImportStatus.DONE, job.error
    call = Activity.objects.get(external_id="A-1")
    assert (call.kind, call.direction, call.outcome, call.duration_minutes) == (
        "call",
        "outbound",
        "reached",
        12,
    )
    assert call.occurred_at == dt.datetime(
        2026, 1, 15, 14, 30, tzinfo=timezone.get_current_timezone()
    )
    assert call.party == customer
    assert call.done_at is not None  # a past call is done
    note = Activity.objects.get(external_id="A-2")
    assert note.party == customer
    task = Activity.objects.get(external_id="A-3")
    assert (task.lead, task.done_at, task.owner) == (lead, None, alice)


def test_problems_name_row_and_column(alice, customer):
    rows = [
        ("A-1", "Fax", "x", "15.01.2026", "", "", "", "", "", ""),
        ("A-2", "call", "x", "15.01.2026", "", "", "", "", "", ""),
        ("A-3", "note", "", "gestern", "", "", "", "", "", ""),
        ("A-4", "task", "x", "15.01.2026", "inbound", "", "", "", "", ""),
        ("A-5", "call", "x", "15.01.2026", "inbound", "", "zwei", "Unbekannt GmbH", "", ""),
        ("A-6", "task", "x", "15.01.2026", "", "", "", "", "", "L-404"),
        ("A-7", "task", "x", "15.01.2026", "", "", "", "", "", ""),
    ]
    report = check(alice, create(alice, "activity", HEADER, rows))
    assert problems(report) == {
        (2, "kind"),
        (3, "direction"),
        (4, "occurred_at"),
        (5, "direction"),
        (6, "duration_minutes"),
        (6, "party"),
        (7, "lead_external_id"),
    }
    assert report.valid == 1


def test_reimport_creates_nothing_update_and_undo(alice, customer):
    rows = ROWS[:2]
    run(alice, create(alice, "activity", HEADER, rows))
    again = run(alice, create(alice, "activity", HEADER, rows))
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 2)

    changed = [
        ("A-1", "call", "Rückruf Vertrag", "15.01.2026 14:30", "outbound", "", "", "", "", "")
    ]
    job = run(alice, create(alice, "activity", HEADER, changed))
    assert job.updated_count == 1
    assert Activity.objects.get(external_id="A-1").subject == "Rückruf Vertrag"
    services.import_undo(actor=alice, job=job)
    assert Activity.objects.get(external_id="A-1").subject == "Rückruf Angebot"


def test_undo_deletes_created_activities(alice, customer):
    job = run(alice, create(alice, "activity", HEADER, ROWS[:2]))
    services.import_undo(actor=alice, job=job)
    assert not Activity.objects.exists()
