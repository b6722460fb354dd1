"""The fast bulk path of parties: what the bulk API and imports write is what party_create
writes (history, tags, search), in a fixed number of statements; matching and upsert."""

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kreis.core.models import SearchEntry
from kreis.core.search import search_index
from kreis.parties import bulk, services
from kreis.parties.models import ContactPoint, Employment, Party

pytestmark = pytest.mark.django_db


def _post(key, path, data):
    return Client().post(
        f"/api/v1{path}", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def _person(i, **extra):
    return {
        "first_name": "Jürgen",
        "last_name": f"Müller {i}",
        "emails": [{"value": f"J.Mueller{i}@Example.DE"}],
        "phones": [{"value": f"030 1234 56{i:02d}"}],
        "addresses": [{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin"}],
        "roles": ["customer"],
        "tags": ["Messe"],
        **extra,
    }


def test_bulk_created_persons_have_history_tags_and_are_found(alice, api_key_for):
    key = api_key_for(alice)
    assert _post(key, "/organizations/bulk", {"items": [{"name": "Nord AG", "external_id": "N"}]})
    response = _post(
        key,
        "/persons/bulk",
        {"items": [_person(1, organization_external_id="N", position="Einkauf"), _person(2)]},
    )
    assert response.status_code == 201
    ids = response.json()["ids"]
    person = Party.objects.get(pk=ids[0])
    assert person.name == "Jürgen Müller 1"
    assert (person.owner, person.team) == (alice, alice.memberships.get().team)
    assert set(person.contact_points.values_list("kind", "value", "is_primary")) == {
        ("email", "j.mueller1@example.de", True),
        ("phone", "+4930123456" + "01", True),
    }
    assert person.addresses.get().is_primary
    assert person.role_values() == ["customer"]
    assert [t.name for t in person.tags.all()] == ["Messe"]
    # One "created" history entry by alice, with its tag, as party_create records it.
    history = person.history.get()
    assert (history.history_type, history.history_user) == ("+", alice)
    assert [t.tag.name for t in history.tags.all()] == ["Messe"]
    employment = Employment.objects.get(person=person)
    assert employment.position == "Einkauf"
    assert employment.history.get().history_type == "+"
    # Found by name (typo), e-mail and company, and shown with the company.
    hits = search_index(user=alice, text="Jürgen Mülller 1")
    assert hits[0].object_id == person.pk
    assert hits[0].subtitle == "Nord AG · j.mueller1@example.de"
    assert search_index(user=alice, text="j.mueller2@example.de")[0].object_id == ids[1]
    assert SearchEntry.objects.filter(entity="party").count() == 3


def test_a_bad_row_rolls_back_every_row(alice, api_key_for):
    key = api_key_for(alice)
    rows = [_person(i) for i in range(5)]
    rows[3]["phones"] = [{"value": "12"}]
    rows[4]["vat_id"] = "DE000"
    response = _post(key, "/persons/bulk", {"items": rows})
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(3, "phones.0"), (4, "vat_id")}
    assert not Party.objects.exists()
    assert not ContactPoint.objects.exists()
    assert not SearchEntry.objects.exists()
    assert not Party.history.exists()


def test_statements_do_not_grow_with_rows(alice):
    def statements(n, start):
        rows = [_person(start + i, kind="person", organization_name="Süd GmbH") for i in range(n)]
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            result = bulk.parties_bulk_create(actor=alice, rows=rows, create_organizations=True)
        assert not result.errors
        assert all(result.ids)
        return len(captured.captured_queries)

    few = statements(3, 0)
    many = statements(60, 10)
    assert many <= few
    assert Party.objects.filter(name="Süd GmbH").count() == 1  # created once, then found


def test_matcher_finds_existing_parties_and_earlier_rows(alice):
    firm = services.party_create(actor=alice, kind="organization", name="Alpha GmbH")
    known = services.party_create(
        actor=alice,
        kind="person",
        first_name="Jörg",
        last_name="Meier",
        external_id="EXT-1",
        emails=[{"value": "joerg@alpha.de"}],
        phones=[{"value": "+49 40 1234567"}],
    )
    services.employment_set(actor=alice, person=known, organization=firm)
    rows = [
        {"last_name": "Anders", "external_id": "EXT-1"},
        {"last_name": "Anders", "emails": [{"value": "JOERG@alpha.de"}]},
        {"last_name": "Anders", "phones": [{"value": "040 1234567"}]},
        {"first_name": "Joerg", "last_name": "Maier", "organization_name": "Alpha GmbH"},
        {"last_name": "Neu", "emails": [{"value": "neu@beta.de"}]},
        {"last_name": "Neu2", "emails": [{"value": "neu@beta.de"}]},
        {"first_name": "Jörg", "last_name": "Maier", "organization_name": "Gamma AG"},
    ]
    drafts, errors = bulk.party_rows_clean(
        actor=alice, rows=rows, kind="person", external_ids_taken=False, create_organizations=True
    )
    assert not errors
    with CaptureQueriesContext(connection) as captured:
        found = bulk.match_parties(drafts)
    assert len(captured.captured_queries) <= 4
    assert [(m.by, m.party_id, m.same_as) if m else None for m in found] == [
        ("external_id", known.pk, None),
        ("email", known.pk, None),
        ("phone", known.pk, None),
        ("name", known.pk, None),
        None,
        ("email", None, 4),
        None,
    ]


def test_update_changes_only_filled_fields_and_restore_puts_them_back(alice):
    party = services.party_create(
        actor=alice,
        kind="organization",
        name="Alpha GmbH",
        industry="Handel",
        website="https://alpha.example",
        emails=[{"value": "info@alpha.de"}],
        tags=["Alt"],
    )
    rows = [
        {
            "name": "Alpha GmbH",
            "industry": "Maschinenbau",
            "external_id": "EXT-9",
            "website": "",
            "emails": [{"value": "vertrieb@alpha.de"}],
            "tags": ["Neu"],
            "roles": ["customer"],
        }
    ]
    drafts, errors = bulk.party_rows_clean(
        actor=alice, rows=rows, kind="organization", external_ids_taken=False
    )
    with transaction.atomic():
        results, refused = bulk.party_drafts_update(actor=alice, pairs=[(party.pk, drafts[0])])
    assert not errors
    assert not refused
    party.refresh_from_db()
    assert (party.industry, party.website) == ("Maschinenbau", "https://alpha.example")
    assert sorted(party.contact_points.values_list("value", "is_primary")) == [
        ("info@alpha.de", True),
        ("vertrieb@alpha.de", False),
    ]
    assert sorted(t.name for t in party.tags.all()) == ["Alt", "Neu"]
    assert party.history.first().history_type == "~"
    assert sorted(t.tag.name for t in party.history.first().tags.all()) == ["Alt", "Neu"]
    before = results[0].before
    assert before["industry"] == "Handel"
    # Nothing changes the second time.
    with transaction.atomic():
        again, _ = bulk.party_drafts_update(actor=alice, pairs=[(party.pk, drafts[0])])
    assert again[0].before is None
    with transaction.atomic():
        bulk.party_updates_restore(actor=alice, befores=[(party.pk, before)])
    party.refresh_from_db()
    assert (party.industry, party.external_id) == ("Handel", None)
    assert list(party.contact_points.values_list("value", flat=True)) == ["info@alpha.de"]
    assert [t.name for t in party.tags.all()] == ["Alt"]
    assert party.role_values() == []
    assert search_index(user=alice, text="vertrieb@alpha.de") == []


def test_read_only_user_creates_nothing(rory):
    drafts, errors = bulk.party_rows_clean(actor=rory, rows=[{"name": "X"}], kind="organization")
    assert not drafts
    assert [(e.row, e.message) for e in errors] == [(0, bulk.create.NOT_ALLOWED)]


def test_field_rules_are_party_creates(alice):
    rows = [
        {"last_name": "x" * 101},
        {"last_name": "Ok", "website": "kein link"},
        {"last_name": "Ok", "addresses": [{"street": "", "city": "Köln"}]},
        {"last_name": "Ok", "custom": {"nope": 1}},
        {"last_name": "Ok", "roles": ["king"]},
    ]
    drafts, errors = bulk.party_rows_clean(actor=alice, rows=rows, kind="person")
    assert not drafts
    assert [(e.row, e.field, e.message) for e in errors] == [
        (0, "last_name", "Ensure this value has at most 100 characters (it has 101)."),
        (1, "website", "Enter a valid URL."),
        (2, "addresses.0.street", "This field cannot be blank."),
        (3, "custom.nope", "There is no custom field “nope”."),
        (4, "roles", "Unknown role: king"),
    ]


def test_bulk_api_announces_the_new_parties_once_committed(
    alice, api_key_for, django_capture_on_commit_callbacks
):
    from kreis.parties.signals import parties_bulk_created

    heard = []

    def listen(sender, ids, actor, **kwargs):
        heard.append((ids, actor))

    parties_bulk_created.connect(listen)
    try:
        key = api_key_for(alice)
        with django_capture_on_commit_callbacks(execute=True):
            bad = _post(key, "/organizations/bulk", {"items": [{"name": "A", "vat_id": "DE1"}]})
        assert bad.status_code == 422
        with django_capture_on_commit_callbacks(execute=True):
            ok = _post(key, "/organizations/bulk", {"items": [{"name": "A"}, {"name": "B"}]})
    finally:
        parties_bulk_created.disconnect(listen)
    assert heard == [(ok.json()["ids"], alice)]


def test_two_rows_of_a_batch_updating_one_party_add_each_thing_once(alice):
    """An import's chunk may hold two rows matching the same party (the same person twice):
    the second row must not add the e-mail, tag, role, address or employment again (the
    unique keys of roles, tags and employments failed the whole chunk before)."""
    firm = services.party_create(actor=alice, kind="organization", name="Neu GmbH")
    olga = services.party_create(
        actor=alice, kind="person", first_name="Olga", last_name="Alt", tags=["Alt"]
    )
    row = {
        "first_name": "Olga",
        "last_name": "Alt",
        "emails": [{"value": "olga@neu.de"}],
        "tags": ["Neu"],
        "roles": ["customer"],
        "addresses": [{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin"}],
        "organization": firm,
    }
    second = {**row, "position": "CFO", "addresses": [{"street": "Ring 2", "city": "Köln"}]}
    drafts, errors = bulk.party_rows_clean(
        actor=alice, rows=[row, second], kind="person", external_ids_taken=False
    )
    assert not errors
    with transaction.atomic():
        results, refused = bulk.party_drafts_update(
            actor=alice, pairs=[(olga.pk, drafts[0]), (olga.pk, drafts[1])]
        )
    assert not refused
    assert list(olga.contact_points.values_list("value", flat=True)) == ["olga@neu.de"]
    assert sorted(t.name for t in olga.tags.all()) == ["Alt", "Neu"]
    assert olga.role_values() == ["customer"]
    assert list(olga.addresses.values_list("street", "city")) == [("Ring 2", "Köln")]
    assert list(Employment.objects.filter(person=olga).values_list("organization", "position")) == [
        (firm.pk, "CFO")
    ]
    # Undo of either record takes everything back.
    with transaction.atomic():
        bulk.party_updates_restore(actor=alice, befores=[(olga.pk, results[0].before)])
    assert not olga.contact_points.exists()
    assert not Employment.objects.filter(person=olga).exists()
    assert [t.name for t in olga.tags.all()] == ["Alt"]
