"""Undo of an import leaves nothing behind: every table that refers to parties (found
through the models' relations, so history tables and many-to-many links count too, plus the
search index) holds as many rows after the undo as before the import, no row names a party
that is gone, and the foreign keys hold. Rows others added to the imported parties since go
with them; a deal naming an imported contact stays, without it."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from kreis.activities.services import activity_create
from kreis.core.models import SearchEntry
from kreis.migration import services as imports
from kreis.migration.models import ImportStatus
from kreis.parties import services
from kreis.parties.models import Party
from kreis.sales.models import Deal
from tests.activities.factories import DealFactory
from tests.migration.import_helpers import create, run

pytestmark = pytest.mark.django_db

HEADER = (
    "Nr",
    "Vorname",
    "Nachname",
    "E-Mail",
    "Telefon",
    "Firma",
    "Position",
    "Straße",
    "Ort",
    "Tags",
)
TARGETS = ("external_id", "first_name", "last_name", "email", "phone", "organization",
           "position", "street", "city", "tags")  # fmt: skip
MAPPING = dict(zip(HEADER, TARGETS, strict=True))
ROWS = [
    (
        "K-1",
        "Jörg",
        "Müller",
        "joerg@neu.de",
        "0221 123456",
        "Neu GmbH",
        "CEO",
        "Ring 1",
        "Köln",
        "VIP",
    ),
    (
        "K-2",
        "Anna",
        "Schmidt",
        "anna@neu.de",
        "+49 221 654321",
        "Neu GmbH",
        "",
        "Weg 2",
        "Bonn",
        "",
    ),
    ("K-3", "Tom", "Weber", "tom@weber.de", "", "Weber KG", "Einkauf", "", "", "Messe"),
    # The known person: updated (phone, tag, her position), not created.
    ("", "Olga", "Alt", "olga@alt.de", "030 1234567", "Alt AG", "Beirat", "", "", "VIP"),
]


def _party_references():
    """(model, column) of every foreign key to Party in any table Django knows."""
    return [
        (model, field)
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Party
    ]


def _counts(kept: set[int]) -> dict[str, int]:
    """Rows per table and column referring to parties. History rows of the ``kept`` parties
    (there before the import) are left out: the update and its undo add to their history."""
    counts = {}
    for model, field in _party_references():
        rows = model._base_manager.all()
        if model.__name__.startswith("Historical"):
            rows = rows.exclude(**{f"{field.attname}__in": kept})
        counts[f"{model._meta.db_table}.{field.column}"] = rows.count()
    counts["parties"] = Party._base_manager.count()
    counts["party history"] = Party.history.exclude(id__in=kept).count()
    counts["party search entries"] = SearchEntry.objects.filter(entity="party").count()
    return counts


def _dangling() -> dict[str, int]:
    """Rows naming a party that does not exist (history tables have no foreign key)."""
    found = {}
    for model, field in _party_references():
        missing = model._base_manager.exclude(**{f"{field.attname}__isnull": True}).exclude(
            Exists(Party._base_manager.filter(pk=OuterRef(field.attname)))
        )
        found[f"{model._meta.db_table}.{field.column}"] = missing.count()
    found["party history"] = Party.history.exclude(
        Exists(Party._base_manager.filter(pk=OuterRef("id")))
    ).count()
    found["party search entries"] = (
        SearchEntry.objects.filter(entity="party")
        .exclude(Exists(Party._base_manager.filter(pk=OuterRef("object_id"))))
        .count()
    )
    return {name: n for name, n in found.items() if n}


def test_undo_leaves_no_row_referring_to_the_imported_parties(alice, bob):
    old_firm = services.party_create(actor=alice, kind="organization", name="Alt AG")
    olga = services.party_create(
        actor=alice,
        kind="person",
        first_name="Olga",
        last_name="Alt",
        emails=[{"value": "olga@alt.de"}],
    )
    services.employment_set(actor=alice, person=olga, organization=old_firm, position="CFO")
    deal = DealFactory(organization=old_firm, owner=alice)
    kept = set(Party.objects.values_list("pk", flat=True))
    before = _counts(kept)
    olga_history = olga.history.count()

    job = run(
        alice,
        create(
            alice,
            "person",
            HEADER,
            ROWS,
            mapping=MAPPING,
            duplicate_mode="update",
        ),
    )
    assert (job.status, job.created_count, job.updated_count) == (ImportStatus.DONE, 3, 1)
    joerg = Party.objects.get(external_id="K-1")
    new_firm = Party.objects.get(name="Neu GmbH")
    # Work done on the imported parties before the undo, by the users.
    services.relationship_add(actor=alice, source=new_firm, target=old_firm, type="customer_of")
    activity_create(
        actor=bob,
        kind="meeting",
        party=joerg,
        attendees=[olga],
        subject="Kennenlernen",
        occurred_at=timezone.now(),
    )
    services.party_update(actor=alice, party=joerg, phones=[{"value": "0221 999999"}])
    Deal.objects.filter(pk=deal.pk).update(contact=joerg)
    assert _counts(kept) != before

    imports.import_undo(actor=alice, job=job, background=False)

    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert _counts(kept) == before
    assert _dangling() == {}
    connection.check_constraints()
    deal.refresh_from_db()
    assert deal.contact_id is None
    # The undone update of the known person is in her history; her job at the old firm stays.
    olga.refresh_from_db()
    assert olga.history.count() == olga_history + 2
    assert olga.history.first().history_user == alice
    assert [(e.organization, e.position) for e in olga.employments.all()] == [(old_firm, "CFO")]
    assert list(olga.contact_points.values_list("value", flat=True)) == ["olga@alt.de"]
    assert not olga.tags.exists()
