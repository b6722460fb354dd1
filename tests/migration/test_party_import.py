"""Import of organisations and persons with their organisation: German values, problems per
row and column, duplicates in Kreis and in the file, re-import, update, merge and undo."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kreis.core.models import SearchEntry
from kreis.core.search import search_index
from kreis.migration.models import ImportRecord, ImportStatus
from kreis.parties import services
from kreis.parties.models import Employment, Party, PartyMerge
from tests.migration.import_helpers import check, create, problems, run

pytestmark = pytest.mark.django_db

HEADER = ("Nr", "Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Position", "PLZ", "Ort")
MAPPING = {
    "Nr": "external_id",
    "Vorname": "first_name",
    "Nachname": "last_name",
    "E-Mail": "email",
    "Telefon": "phone",
    "Firma": "organization",
    "Position": "position",
    "PLZ": "postal_code",
    "Ort": "city",
}
ROWS = [
    ("K-1", "Jörg", "Müller", "Joerg@Mueller.DE", "0221 123456", "Müller GmbH", "CEO", "", ""),
    ("K-2", "Anna", "Schmidt", "anna@mueller.de", "+49 221 654321", "Müller GmbH", "", "", ""),
    ("K-3", "Tom", "Weber", "tom@weber.de", "", "Weber KG", "Einkauf", "", ""),
]


def _persons(alice, rows=ROWS, **kwargs):
    return run(alice, create(alice, "person", HEADER, rows, mapping=MAPPING, **kwargs))


def test_persons_come_with_their_organisation_history_and_search(alice):
    job = _persons(alice)
    assert job.status == ImportStatus.DONE, job.error
    assert job.created_count == 3
    joerg = Party.objects.get(external_id="K-1")
    assert joerg.name == "Jörg Müller"
    assert set(joerg.contact_points.values_list("value", flat=True)) == {
        "joerg@mueller.de",
        "+49221123456",
    }
    # One organisation per name, however many persons name it; linked, found, undoable.
    firm = Party.objects.get(kind="organization", name="Müller GmbH")
    assert set(
        Employment.objects.filter(organization=firm).values_list("person__name", "position")
    ) == {
        ("Jörg Müller", "CEO"),
        ("Anna Schmidt", ""),
    }
    assert Party.objects.filter(kind="organization").count() == 2
    assert joerg.history.get().history_user == alice
    assert search_index(user=alice, text="Jörg Müller")[0].subtitle.startswith("Müller GmbH")
    assert ImportRecord.objects.filter(job=job, action="created").count() == 5


def test_bad_rows_name_the_row_and_column(alice):
    header = (
        "Name",
        "E-Mail",
        "Telefon",
        "USt-IdNr",
        "IBAN",
        "Betreuer",
        "Vertragsende",
        "Potenzial",
    )
    mapping = dict(
        zip(
            header,
            (
                "name",
                "email",
                "phone",
                "vat_id",
                "iban",
                "owner",
                "contract_end",
                "purchasing_potential",
            ),
            strict=True,
        )
    )
    rows = [
        ("A", "kein-mail", "", "", "", "", "", ""),
        ("B", "", "12", "", "", "", "", ""),
        ("C", "", "", "DE123", "", "", "", ""),
        ("D", "", "", "", "DE00 1234", "", "", ""),
        ("E", "", "", "", "", "niemand", "", ""),
        ("F", "", "", "", "", "", "31.02.2026", "viel"),
        ("", "ok@example.com", "", "", "", "", "", ""),
        (
            "Gut AG",
            "info@gut.de",
            "030 1234567",
            "DE136695976",
            "",
            "alice",
            "31.12.2026",
            "1.234,56",
        ),
    ]
    job = create(
        alice, "organization", header, rows, mapping=mapping, options={"skip_invalid": True}
    )
    report = check(alice, job)
    assert problems(report) == {
        (2, "E-Mail"),
        (3, "Telefon"),
        (4, "USt-IdNr"),
        (5, "IBAN"),
        (6, "Betreuer"),
        (7, "Vertragsende"),
        (7, "Potenzial"),
        (8, "Name"),
    }
    assert not Party.objects.exists()  # a check writes nothing
    job = run(alice, job)
    gut = Party.objects.get()
    assert (gut.vat_id, gut.purchasing_potential) == ("DE136695976", Decimal("1234.56"))
    assert gut.contract_end.isoformat() == "2026-12-31"
    assert job.failed_count == 7


def test_importing_the_same_file_twice_creates_nothing(alice):
    _persons(alice)
    counts = (Party.objects.count(), Employment.objects.count(), SearchEntry.objects.count())
    again = _persons(alice)
    assert again.status == ImportStatus.DONE
    assert again.created_count == 0
    assert (
        Party.objects.count(),
        Employment.objects.count(),
        SearchEntry.objects.count(),
    ) == counts


def test_rows_repeating_an_earlier_row_or_a_party_are_one_party(alice):
    known = services.party_create(
        actor=alice, kind="person", last_name="Weber", emails=[{"value": "tom@weber.de"}]
    )
    rows = [*ROWS, ("", "Anna", "Schmidt", "ANNA@mueller.de", "", "", "Vertrieb", "", "")]
    job = _persons(alice, rows, duplicate_mode="update")
    assert job.created_count == 2  # Jörg and Anna; Tom is the known Weber
    assert Party.objects.filter(kind="organization").count() == 2
    assert Party.objects.filter(last_name="Schmidt").count() == 1
    known.refresh_from_db()
    assert known.external_id == "K-3"  # updated: the external ID it lacked
    assert known.employments.get().organization.name == "Weber KG"


def test_update_keeps_previous_values_and_undo_restores_everything(alice):
    firm = services.party_create(actor=alice, kind="organization", name="Müller GmbH")
    joerg = services.party_create(
        actor=alice,
        kind="person",
        first_name="Jörg",
        last_name="Müller",
        external_id="K-1",
        emails=[{"value": "alt@mueller.de"}],
    )
    services.employment_set(actor=alice, person=joerg, organization=firm, position="Azubi")
    job = _persons(alice, duplicate_mode="update")
    assert (job.created_count, job.updated_count) == (2, 1)
    joerg.refresh_from_db()
    assert set(joerg.contact_points.values_list("value", flat=True)) == {
        "alt@mueller.de",
        "joerg@mueller.de",
        "+49221123456",
    }
    assert joerg.employments.get().position == "CEO"
    from kreis.migration import services as imports

    imports.import_undo(actor=alice, job=job, background=False)
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    joerg.refresh_from_db()
    assert list(joerg.contact_points.values_list("value", flat=True)) == ["alt@mueller.de"]
    assert joerg.employments.get().position == "Azubi"
    assert set(Party.objects.values_list("name", flat=True)) == {"Müller GmbH", "Jörg Müller"}
    assert SearchEntry.objects.filter(entity="party").count() == 2
    assert [h.title for h in search_index(user=alice, text="Anna Schmidt")] == []


def test_merge_mode_uses_the_undoable_merge(alice):
    known = services.party_create(
        actor=alice, kind="organization", name="Alpha GmbH", emails=[{"value": "info@alpha.de"}]
    )
    header = ("Name", "E-Mail", "Branche", "Telefon")
    rows = [("Alpha GmbH", "info@alpha.de", "Maschinenbau", "040 1234567")]
    mapping = {"Name": "name", "E-Mail": "email", "Branche": "industry", "Telefon": "phone"}
    job = run(
        alice, create(alice, "organization", header, rows, mapping=mapping, duplicate_mode="merge")
    )
    assert job.status == ImportStatus.DONE, job.error
    merge = PartyMerge.objects.get()
    assert merge.survivor == known
    assert ImportRecord.objects.get(job=job, action="merged").merge == merge
    known.refresh_from_db()
    assert known.industry == "Maschinenbau"
    assert "+4940123456" + "7" in known.contact_points.values_list("value", flat=True)
    from kreis.migration import services as imports

    imports.import_undo(actor=alice, job=job, background=False)
    known.refresh_from_db()
    assert known.industry == ""
    assert list(known.contact_points.values_list("value", flat=True)) == ["info@alpha.de"]
    assert Party.objects.count() == 1


def test_a_person_with_a_first_name_and_no_last_name_is_an_invalid_row(alice):
    """As the API (``PersonCreate.last_name``: at least one character) refuses it."""
    rows = [("K-7", "Anna", "", "anna@example.de", "", "", "", "", ""), ROWS[2]]
    job = _persons(alice, rows, options={"skip_invalid": True})
    assert (job.status, job.created_count, job.failed_count) == (ImportStatus.DONE, 1, 1)
    error = job.row_errors.get()
    assert (error.row, error.column, error.message) == (
        2,
        "Nachname",
        "A person needs a last name.",
    )
    assert not Party.objects.filter(first_name="Anna").exists()
    assert Party.objects.filter(external_id="K-3", last_name="Weber").exists()


def test_the_missing_last_name_is_reported_in_german(alice):
    from django.utils import translation

    from kreis.migration.engine import Context, SourceRow, handler_for

    values = {"first_name": "Anna", "last_name": "", "email": "anna@example.de"}
    ctx = Context(entity="person", actor=alice, mapping=MAPPING)
    with translation.override("de"):
        prepared, found = handler_for("person").prepare([SourceRow(2, [], values)], ctx)
    assert prepared == []
    assert [(p.row, p.column, p.message) for p in found] == [
        (2, "Nachname", "Eine Person braucht einen Nachnamen.")
    ]


def test_undo_of_an_update_removes_only_the_tags_the_import_added(alice):
    joerg = services.party_create(
        actor=alice, kind="person", first_name="Jörg", last_name="Müller", external_id="K-1"
    )
    services.party_update(actor=alice, party=joerg, tags=["Stammkunde"])
    other = services.party_create(actor=alice, kind="person", first_name="Eva", last_name="Roth")
    services.party_update(actor=alice, party=other, tags=["Messe"])
    header = ("Nr", "Vorname", "Nachname", "Tags")
    job = run(
        alice,
        create(
            alice,
            "person",
            header,
            [("K-1", "Jörg", "Müller", "Messe, Newsletter")],
            mapping={
                "Nr": "external_id",
                "Vorname": "first_name",
                "Nachname": "last_name",
                "Tags": "tags",
            },
            duplicate_mode="update",
        ),
    )
    assert job.updated_count == 1, job.error
    assert set(joerg.tags.values_list("name", flat=True)) == {"Stammkunde", "Messe", "Newsletter"}
    from kreis.migration import services as imports

    imports.import_undo(actor=alice, job=job, background=False)
    assert set(joerg.tags.values_list("name", flat=True)) == {"Stammkunde"}
    assert set(other.tags.values_list("name", flat=True)) == {
        "Messe"
    }  # the same tag on another party stays
