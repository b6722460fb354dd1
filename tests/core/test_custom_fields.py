"""Custom fields: administrators define them; forms, pages, lists, filters, API and CSV use them."""

import pytest
from django.test import Client

from kreis.core import services as core_services
from kreis.core.customfields import clean_custom_values
from kreis.parties import services
from kreis.parties.models import Party
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields(dana):
    make = core_services.custom_field_create
    return [
        make(actor=dana, entity="party", key="branche_code", label="Branchencode", type="text"),
        make(actor=dana, entity="party", key="employees", label="Employees", type="number"),
        make(actor=dana, entity="party", key="founded", label="Founded", type="date"),
        make(
            actor=dana,
            entity="party",
            key="segment",
            label="Segment",
            type="choice",
            choices=["SMB", "Enterprise"],
        ),
        make(
            actor=dana,
            entity="party",
            key="channels",
            label="Channels",
            type="multi_choice",
            choices=["Shop", "Field", "Phone"],
        ),
        make(actor=dana, entity="party", key="vip", label="VIP", type="boolean"),
        make(actor=dana, entity="party", key="potential", label="Potential", type="money"),
        make(actor=dana, entity="party", key="portal", label="Portal", type="url"),
    ]


def test_values_are_validated_and_stored_in_their_type(fields):
    values = clean_custom_values(
        "party",
        {
            "employees": "1200",
            "founded": "1999-04-01",
            "segment": "Enterprise",
            "channels": ["Phone", "Shop"],
            "vip": "ja",
            "potential": "12500,5",
            "portal": "https://portal.example.de",
        },
    )
    assert values == {
        "employees": 1200,
        "founded": "1999-04-01",
        "segment": "Enterprise",
        "channels": ["Shop", "Phone"],
        "vip": True,
        "potential": "12500.50",
        "portal": "https://portal.example.de",
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("employees", "viele"),
        ("founded", "01.04.1999"),
        ("segment", "Mittelstand"),
        ("channels", ["Fax"]),
        ("vip", "vielleicht"),
        ("portal", "javascript:alert(1)"),
        ("unknown_key", "x"),
    ],
)
def test_bad_values_are_refused_by_field(fields, key, value):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        clean_custom_values("party", {key: value})
    assert f"custom.{key}" in exc.value.message_dict


def test_required_field_is_enforced_in_the_form(dana, alice):
    core_services.custom_field_create(
        actor=dana, entity="party", key="kundennr", label="Kundennummer", type="text", required=True
    )
    client = client_for(alice)
    page = client.get("/parties/new/organization/")
    assert 'name="cf_kundennr"' in page.content.decode()
    response = client.post(
        "/parties/new/organization/",
        {"name": "Ohne Nummer", "country": "DE", "address_kind": "office"},
    )
    assert response.status_code == 200
    assert not Party.objects.exists()
    response = client.post(
        "/parties/new/organization/",
        {"name": "Mit Nummer", "country": "DE", "address_kind": "office", "cf_kundennr": "K-1"},
    )
    assert response.status_code == 302
    party = Party.objects.get()
    assert party.custom == {"kundennr": "K-1"}
    assert "Kundennummer" in client.get(f"/parties/{party.pk}/").content.decode()


def test_lists_filter_and_export_by_custom_fields(fields, alice):
    big = services.party_create(
        actor=alice, kind="organization", name="Gross AG", custom={"segment": "Enterprise"}
    )
    services.party_create(
        actor=alice, kind="organization", name="Klein KG", custom={"segment": "SMB"}
    )
    client = client_for(alice)
    body = client.get("/parties/", {"cf_segment": "Enterprise"}).content.decode()
    assert "Gross AG" in body
    assert "Klein KG" not in body
    export = b"".join(
        client.get("/parties/export.csv", {"cf_segment": "Enterprise"}).streaming_content
    )
    text = export.decode("utf-8-sig")
    assert "custom.segment" in text.splitlines()[0]
    assert "Enterprise" in text
    assert "Klein KG" not in text
    assert big.pk


def test_api_reads_writes_and_filters_custom_values(fields, alice, dana, api_key_for):
    key = api_key_for(alice)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client = Client()
    created = client.post(
        "/api/v1/organizations",
        {"name": "API GmbH", "custom": {"employees": 42, "vip": True, "potential": 1000}},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    assert created.json()["custom"] == {"employees": 42, "vip": True, "potential": "1000.00"}
    bad = client.post(
        "/api/v1/organizations",
        {"name": "Bad", "custom": {"segment": "Mittelstand"}},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "custom.segment"
    listed = client.get("/api/v1/organizations", {"cf_vip": "yes"}, **headers).json()
    assert [p["name"] for p in listed["items"]] == ["API GmbH"]
    ranged = client.get("/api/v1/organizations", {"cf_potential_min": "500"}, **headers).json()
    assert [p["name"] for p in ranged["items"]] == ["API GmbH"]


def test_only_admins_define_fields(alice, dana, api_key_for):
    payload = {"entity": "deal", "key": "region", "label": "Region", "type": "text"}
    as_rep = Client().post(
        "/api/v1/custom-fields",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}",
    )
    assert as_rep.status_code == 403
    assert client_for(alice).get("/manage/custom-fields/").status_code == 404
    admin = client_for(dana)
    response = admin.post(
        "/manage/custom-fields/new/",
        {"entity": "deal", "label": "Region", "key": "region", "type": "choice", "position": 0},
    )
    assert response.status_code == 200  # a choice field needs options
    response = admin.post(
        "/manage/custom-fields/new/",
        {
            "entity": "deal",
            "label": "Region",
            "key": "region",
            "type": "choice",
            "choices": "Nord\nSüd",
            "position": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert "Region" in admin.get("/manage/custom-fields/").content.decode()


def test_saved_views_keep_filters_per_user(alice, bob):
    client = client_for(alice)
    response = client.post(
        "/me/views/",
        {
            "list_name": "parties",
            "name": "Kunden",
            "query": "role=customer&page=3",
            "next": "/parties/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/parties/?role=customer"
    assert "Kunden" in client.get("/parties/").content.decode()
    assert "Kunden" not in client_for(bob).get("/parties/").content.decode()


def test_custom_fields_and_pipelines_in_bulk(dana, alice, api_key_for):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(dana)}"}
    client = Client()
    fields = [
        {"entity": "lead", "key": "budget_year", "label": "Budget year", "type": "number"},
        {"entity": "lead", "key": "branch", "label": "Branch", "type": "choice"},
    ]
    refused = client.post(
        "/api/v1/custom-fields/bulk", {"items": fields}, content_type="application/json", **headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["row"] == 1
    fields[1]["choices"] = ["Nord", "Süd"]
    created = client.post(
        "/api/v1/custom-fields/bulk", {"items": fields}, content_type="application/json", **headers
    )
    assert created.status_code == 201
    assert created.json()["created"] == 2
    pipelines = client.post(
        "/api/v1/pipelines/bulk",
        {"items": [{"name": "Projekte"}, {"name": "Ersatzteile"}]},
        content_type="application/json",
        **headers,
    )
    assert pipelines.status_code == 201
    as_rep = client.post(
        "/api/v1/pipelines/bulk",
        {"items": [{"name": "Meins"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}",
    )
    assert as_rep.status_code == 422
