"""Exports as a user gets them: every list in CSV, Excel, JSON and (persons) vCard, with the
list's filters, sort and visibility; the export API and ``kreis export``."""

import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
import vobject
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from kreis.commerce.models import Product, Transaction
from kreis.core import services as core_services
from kreis.parties import services as party_services
from tests.activities.factories import ActivityFactory
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db

DANGEROUS = ["=HYPERLINK(\"http://x\")", "+cmd|'/C calc'!A0", "-2+3+cmd", "@SUM(1+1)", "\tTab",
             "\rCR", "  =spaced"]  # fmt: skip


def _content(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def _sheet(content: bytes) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def _cells(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for row in book.worksheets[0].iter_rows() for cell in row]


@pytest.fixture
def people(alice, charlie, north, south):
    """Alice's customers: a person at an organisation, an organisation with a formula for a
    name; a customer of charlie's team alice must not see; a custom number field."""
    core_services.custom_field_create(
        actor=None, entity="party", key="seats", label="Seats", type="number"
    )
    acme = party_services.party_create(
        actor=alice, kind="organization", name="Acme GmbH", roles=["customer"]
    )
    jorg = party_services.party_create(
        actor=alice,
        kind="person",
        name="Jörg Müller",
        first_name="Jörg",
        last_name="Müller",
        salutation="Herr",
        roles=["customer"],
        emails=[{"value": "joerg@acme.de", "label": "work"}, {"value": "j@privat.de"}],
        phones=[{"value": "030 1234567", "label": "mobile"}],
        addresses=[{"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"}],
        custom={"seats": 12},
    )
    party_services.employment_set(
        actor=alice, person=jorg, organization=acme, position="Einkaufsleiter"
    )
    party_services.party_create(
        actor=alice, kind="organization", name="=HYPERLINK(1)", roles=["supplier"]
    )
    OrganizationFactory(owner=charlie, team=south, name="Fremd AG")
    return {"acme": acme, "jorg": jorg}


def test_excel_export_has_the_visible_filtered_rows_with_real_numbers_and_dates(alice, people):
    rows = _sheet(_content(client_for(alice).get("/parties/export.xlsx", {"sort": "-name"})))
    header, *data = rows
    assert header[:5] == ["id", "kind", "name", "roles", "email"]
    assert header[-1] == "custom.seats"
    names = [row[2] for row in data]
    assert names == ["Jörg Müller", "Acme GmbH", "'=HYPERLINK(1)"]  # sorted Z-A, no Fremd AG
    jorg = dict(zip(header, data[0], strict=True))
    assert jorg["id"] == people["jorg"].pk
    assert jorg["custom.seats"] == 12
    assert isinstance(jorg["created_at"], dt.datetime)
    assert jorg["email"] == "joerg@acme.de"
    assert jorg["city"] == "Berlin"
    customers = _sheet(
        _content(client_for(alice).get("/parties/export.xlsx", {"role": "customer"}))
    )
    assert sorted(row[2] for row in customers[1:]) == ["Acme GmbH", "Jörg Müller"]


def test_excel_export_defuses_formulas_in_every_list(alice, north):
    """Every text a spreadsheet would run is stored as text with the CSV export's apostrophe;
    no cell of any list's workbook is a formula."""
    for i, value in enumerate(DANGEROUS):
        party = OrganizationFactory(name=value, owner=alice, team=north)
        LeadFactory(last_name=value, company=value, owner=alice, team=north)
        DealFactory(name=value, organization=party, owner=alice, team=north)
        ActivityFactory(subject=value, party=party, owner=alice, team=north)
        Transaction.objects.create(
            kind="invoice", number=value, party=party, date=timezone.localdate(), owner=alice,
            team=north, net_revenue=Decimal("10.50"),
        )  # fmt: skip
        Product.objects.create(sku=f"P{i}", name=value, category=value, list_price=5)
    client = client_for(alice)
    for url in (
        "/parties/export.xlsx",
        "/leads/export.xlsx",
        "/deals/list/export.xlsx",
        "/activities/export.xlsx",
        "/commerce/transactions/export.xlsx",
        "/commerce/products/export.xlsx",
    ):
        cells = _cells(_content(client.get(url)))
        assert not [c.value for c in cells if c.data_type == "f"], url
        texts = {c.value for c in cells if isinstance(c.value, str)}
        for value in DANGEROUS:  # (XML reads a stored CR as LF)
            assert "'" + value.replace("\r", "\n") in texts, (url, value)
        assert not [v for v in texts if v.lstrip()[:1] in {"=", "+", "@"}], url


def test_excel_amounts_are_numbers(alice, north):
    party = OrganizationFactory(owner=alice, team=north, name="Käufer AG")
    Transaction.objects.create(
        kind="invoice", number="R-1", party=party, date=dt.date(2026, 3, 31), owner=alice,
        team=north, net_revenue=Decimal("1234.56"), cost=Decimal("234.56"),
    )  # fmt: skip
    header, row = _sheet(_content(client_for(alice).get("/commerce/transactions/export.xlsx")))
    line = dict(zip(header, row, strict=True))
    assert line["net_revenue"] == pytest.approx(1234.56)
    assert line["margin"] == pytest.approx(1000)
    assert line["date"] == dt.datetime(2026, 3, 31, tzinfo=None)  # noqa: DTZ001 (a date cell)
    assert line["party"] == "Käufer AG"


def test_json_export_is_an_array_of_typed_objects(alice, people):
    data = json.loads(_content(client_for(alice).get("/parties/export.json", {"kind": "person"})))
    assert [row["name"] for row in data] == ["Jörg Müller"]
    jorg = data[0]
    assert jorg["id"] == people["jorg"].pk
    assert jorg["custom.seats"] == 12
    assert jorg["clv"] is None
    assert dt.datetime.fromisoformat(jorg["created_at"]) == people["jorg"].created_at
    assert json.loads(_content(client_for(alice).get("/parties/export.json", {"q": "nix"}))) == []


@pytest.mark.parametrize("version", ["4.0", "3.0"])
def test_vcard_export_reads_back_with_name_org_title_mails_phones_address(alice, people, version):
    content = _content(client_for(alice).get("/parties/export.vcf", {"vcard": version}))
    cards = list(vobject.readComponents(content.decode()))
    assert len(cards) == 1  # the person only: organisations are no vCards, Fremd AG not visible
    card = cards[0]
    assert card.version.value == version
    assert card.fn.value == "Jörg Müller"
    assert (card.n.value.family, card.n.value.given, card.n.value.prefix) == (
        "Müller",
        "Jörg",
        "Herr",
    )
    assert card.org.value == ["Acme GmbH"]
    assert card.title.value == "Einkaufsleiter"
    assert sorted(e.value for e in card.contents["email"]) == ["j@privat.de", "joerg@acme.de"]
    assert [t.value for t in card.contents["tel"]] == ["+49301234567"]
    address = card.adr.value
    assert (address.street, address.code, address.city, address.country) == (
        "Hauptstraße 1",
        "10115",
        "Berlin",
        "DE",
    )


def test_vcard_shows_a_hidden_employer_as_hidden(alice, charlie, south, north):
    person = party_services.party_create(
        actor=alice, kind="person", name="Ida Graf", last_name="Graf"
    )
    other = OrganizationFactory(owner=charlie, team=south, name="Geheim GmbH")
    party_services.employment_set(actor=None, person=person, organization=other)
    content = _content(client_for(alice).get("/parties/export.vcf"))
    assert "Geheim" not in content.decode()
    assert next(vobject.readComponents(content.decode())).org.value == ["Hidden party"]


def test_vcard_of_deals_is_not_offered(alice):
    assert client_for(alice).get("/deals/list/export.vcf").status_code == 404
    assert client_for(alice).get("/parties/export.pdf").status_code == 404


def test_every_list_offers_the_export_menu_in_german(alice):
    client = client_for(alice)
    client.cookies["django_language"] = "de"
    for page, base in (
        ("/parties/", "/parties/export"),
        ("/leads/", "/leads/export"),
        ("/deals/list/", "/deals/list/export"),
        ("/activities/", "/activities/export"),
        ("/commerce/transactions/", "/commerce/transactions/export"),
        ("/commerce/products/", "/commerce/products/export"),
    ):
        body = client.get(page, HTTP_ACCEPT_LANGUAGE="de").content.decode()
        assert "Weitere Exportformate" in body, page
        for fmt in ("csv", "xlsx", "json"):
            assert f'href="{base}.{fmt}' in body, (page, fmt)
        assert (f'href="{base}.vcf' in body) == (page == "/parties/"), page


def test_export_menu_keeps_the_lists_filters(alice, people):
    body = client_for(alice).get("/parties/", {"role": "customer", "sort": "-name"}).content
    assert b'href="/parties/export.xlsx?role=customer&amp;sort=-name"' in body


def test_exports_need_a_login():
    response = Client().get("/parties/export.xlsx")
    assert response.status_code == 302


# --- API ------------------------------------------------------------------------------------


def test_api_exports_a_type_with_the_lists_filters(alice, people, api_key_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice, scope='read')}"}
    client = Client()
    response = client.get("/api/v1/exports/person", {"format": "xlsx"}, **auth)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert [row[2] for row in _sheet(_content(response))[1:]] == ["Jörg Müller"]
    response = client.get("/api/v1/exports/organization", {"format": "json", "q": "acme"}, **auth)
    assert [row["name"] for row in json.loads(_content(response))] == ["Acme GmbH"]
    everything = json.loads(_content(client.get("/api/v1/exports/party?format=json", **auth)))
    assert "Fremd AG" not in {row["name"] for row in everything}
    cards = _content(client.get("/api/v1/exports/person", {"format": "vcard"}, **auth))
    assert next(vobject.readComponents(cards.decode())).fn.value == "Jörg Müller"
    csv_text = _content(client.get("/api/v1/exports/party", **auth)).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in csv_text


def test_api_refuses_vcard_of_deals_and_unknown_types(alice, api_key_for):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice, scope='read')}"}
    client = Client()
    assert client.get("/api/v1/exports/deal?format=vcard", **auth).status_code == 422
    assert client.get("/api/v1/exports/deal?format=pdf", **auth).status_code == 422
    assert client.get("/api/v1/exports/secrets", **auth).status_code in (404, 422)
    assert client.get("/api/v1/exports/activity?from=0001-01-01", **auth).status_code == 400
    assert Client().get("/api/v1/exports/party").status_code == 401


# --- command line ---------------------------------------------------------------------------


def test_command_exports_every_person_to_a_file(people, tmp_path, alice):
    out = tmp_path / "persons.xlsx"
    call_command("export_records", type="person", format="xlsx", output=str(out))
    assert [row[2] for row in _sheet(out.read_bytes())[1:]] == ["Jörg Müller"]
    everything = tmp_path / "parties.json"
    call_command("export_records", type="party", format="json", output=str(everything))
    assert "Fremd AG" in {row["name"] for row in json.loads(everything.read_text())}
    as_alice = tmp_path / "alice.json"
    call_command(
        "export_records", "--type=party", "--format=json", f"--output={as_alice}", "--as=alice"
    )
    assert "Fremd AG" not in {row["name"] for row in json.loads(as_alice.read_text())}
    filtered = tmp_path / "acme.csv"
    call_command("export_records", "--type=organization", f"--output={filtered}", "--filter=q=acme")
    assert filtered.read_text(encoding="utf-8-sig").count("\n") == 2


def test_command_refuses_vcard_of_deals(tmp_path, db):
    with pytest.raises(CommandError, match="vCard"):
        call_command("export_records", type="deal", format="vcard", output=str(tmp_path / "x"))
    assert not list(tmp_path.iterdir())
