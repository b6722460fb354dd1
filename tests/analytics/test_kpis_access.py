"""Who may see the satisfaction KPIs and enter their inputs (managers and administrators), the
market volume and quality check forms and API, and the lead's referring party."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kreis.analytics.kpis.models import MarketVolume, QualityCheck
from kreis.leads.models import Lead
from kreis.parties.models import Party, PartyKind
from tests.commerce.factories import ProductFactory
from tests.conftest import client_for

D = dt.date


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def bearer(api_key_for, user, scope="read_write") -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(user, scope=scope)}"}


@pytest.mark.parametrize("persona", ["alice", "rory", "charlie"])
def test_reps_and_readers_cannot_see_the_kpis(request, persona, api_key_for):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    assert client.get("/analytics/kpis/").status_code == 403
    headers = bearer(api_key_for, user, "read")
    assert client.get("/api/v1/kpis", **headers).status_code == 403
    assert client.get("/api/v1/kpis/quality-checks", **headers).status_code == 403
    posted = client.post(
        "/analytics/kpis/quality-checks/",
        {"date": "2025-01-10", "stage": "internal", "checked_units": 10, "defective_units": 1},
    )
    assert posted.status_code == 403
    assert not QualityCheck.objects.exists()
    # The analytics tabs do not offer the page.
    assert "/analytics/kpis/" not in client.get("/analytics/").content.decode()


@pytest.mark.parametrize("persona", ["mia", "dana"])
def test_managers_and_admins_see_the_kpis(request, persona, api_key_for):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    page = client.get("/analytics/kpis/")
    assert page.status_code == 200
    assert "Enter a market volume" in page.content.decode()
    assert client.get("/api/v1/kpis", **bearer(api_key_for, user)).status_code == 200
    assert "/analytics/kpis/" in client.get("/analytics/").content.decode()


def test_the_page_needs_a_login(db):
    from django.test import Client

    response = Client().get("/analytics/kpis/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_manager_enters_a_market_volume_on_the_page(mia):
    client = client_for(mia)
    here = "/analytics/kpis/?start=2025-01-01&end=2025-12-31&grain=quarter"
    response = client.post(
        "/analytics/kpis/market-volumes/",
        {
            "segment": "Tools",
            "grain": "quarter",
            "start": "2025-04-01",
            "volume": "25000.00",
            "next": here,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == here
    record = MarketVolume.objects.get()
    assert (record.segment, record.start, record.volume) == ("Tools", D(2025, 4, 1), Decimal(25000))
    assert record.created_by == mia
    # The same segment and period again replaces the volume.
    client.post(
        "/analytics/kpis/market-volumes/",
        {"segment": "Tools", "grain": "quarter", "start": "2025-04-01", "volume": "30000"},
    )
    assert MarketVolume.objects.get().volume == Decimal(30000)
    assert "Tools" in client.get(here).content.decode()


def test_a_market_volume_must_start_on_its_periods_first_day(mia):
    response = client_for(mia).post(
        "/analytics/kpis/market-volumes/",
        {"segment": "", "grain": "quarter", "start": "2025-05-01", "volume": "100"},
    )
    assert response.status_code == 200  # the page again, with the error at the field
    assert "A period starts on the first day" in response.content.decode()
    assert not MarketVolume.objects.exists()


def test_a_quality_check_is_recorded_and_checked(mia):
    product = ProductFactory()
    client = client_for(mia)
    too_many = client.post(
        "/analytics/kpis/quality-checks/",
        {"date": "2025-01-10", "stage": "trade", "checked_units": 10, "defective_units": 11},
    )
    assert too_many.status_code == 200
    assert "More units cannot be defective" in too_many.content.decode()
    ok = client.post(
        "/analytics/kpis/quality-checks/",
        {
            "date": "2025-01-10",
            "stage": "trade",
            "product": product.pk,
            "checked_units": 10,
            "defective_units": 2,
            "notes": "<b>Kratzer</b>",
        },
    )
    assert ok.status_code == 302
    check = QualityCheck.objects.get()
    assert (check.stage, check.product, check.defective_units) == ("trade", product, 2)
    page = client.get("/analytics/kpis/?start=2025-01-01&end=2025-03-31&grain=month").content
    assert b"2 / 10" in page
    deleted = client.post(f"/analytics/kpis/quality-checks/{check.pk}/delete/")
    assert deleted.status_code == 302
    assert not QualityCheck.objects.exists()


def test_the_read_only_cannot_delete_and_reps_cannot_either(mia, alice, rory):
    check = QualityCheck.objects.create(
        date=D(2025, 1, 1), stage="internal", checked_units=5, defective_units=0
    )
    for user in (alice, rory):
        response = client_for(user).post(f"/analytics/kpis/quality-checks/{check.pk}/delete/")
        assert response.status_code == 403
    assert QualityCheck.objects.filter(pk=check.pk).exists()


def test_api_market_volumes_and_quality_checks(mia, alice, api_key_for):
    headers = bearer(api_key_for, mia)
    client = client_for(mia)
    created = client.post(
        "/api/v1/kpis/market-volumes",
        {"segment": "Paint", "grain": "month", "start": "2025-03-01", "volume": "1200.50"},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    assert created.json()["end"] == "2025-03-31"
    again = client.post(
        "/api/v1/kpis/market-volumes",
        {"segment": "Paint", "grain": "month", "start": "2025-03-01", "volume": "1300"},
        content_type="application/json",
        **headers,
    )
    assert again.status_code == 200
    assert MarketVolume.objects.get().volume == Decimal("1300")
    listed = client.get("/api/v1/kpis/market-volumes", **headers).json()
    assert [row["segment"] for row in listed["items"]] == ["Paint"]
    bad = client.post(
        "/api/v1/kpis/quality-checks",
        {"date": "2025-03-02", "stage": "end_customer", "checked_units": 3, "defective_units": 4},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code in (400, 422)
    check = client.post(
        "/api/v1/kpis/quality-checks",
        {"date": "2025-03-02", "stage": "end_customer", "checked_units": 40, "defective_units": 2},
        content_type="application/json",
        **headers,
    )
    assert check.status_code == 201
    figures = client.get(
        "/api/v1/kpis?start=2025-03-01&end=2025-03-31&grain=month", **headers
    ).json()
    stages = {row["stage"]: row for row in figures["quality"]}
    assert stages["end_customer"]["defect_pct"] == [5.0]
    # A rep may not write, nor a read-only key.
    refused = client_for(alice).post(
        "/api/v1/kpis/market-volumes",
        {"segment": "", "grain": "year", "start": "2025-01-01", "volume": "1"},
        content_type="application/json",
        **bearer(api_key_for, alice),
    )
    assert refused.status_code == 403
    read_only = client.delete(
        f"/api/v1/kpis/quality-checks/{check.json()['id']}", **bearer(api_key_for, mia, "read")
    )
    assert read_only.status_code == 403
    gone = client.delete(f"/api/v1/kpis/quality-checks/{check.json()['id']}", **headers)
    assert gone.status_code == 204


def test_a_lead_names_its_referring_customer(alice, charlie, north, api_key_for):
    referrer = Party.objects.create(
        kind=PartyKind.ORGANIZATION, name="Empfehler GmbH", owner=alice, team=north
    )
    hidden = Party.objects.create(kind=PartyKind.ORGANIZATION, name="Fremd AG", owner=charlie)
    client = client_for(alice)
    response = client.post(
        "/leads/new/",
        {"last_name": "Neu", "referred_by": f"Empfehler GmbH (#{referrer.pk})"},
    )
    assert response.status_code == 302
    lead = Lead.objects.get(last_name="Neu")
    assert lead.referred_by == referrer
    assert "Empfehler GmbH" in client.get(f"/leads/{lead.pk}/").content.decode()
    edit = client.get(f"/leads/{lead.pk}/edit/").content.decode()
    assert f"Empfehler GmbH (#{referrer.pk})" in edit
    # A party the user cannot see cannot be named.
    refused = client.post(
        "/leads/new/", {"last_name": "Anders", "referred_by": f"Fremd AG (#{hidden.pk})"}
    )
    assert refused.status_code == 200
    assert not Lead.objects.filter(last_name="Anders").exists()
    # The API takes and gives referred_by_id; null clears it.
    headers = bearer(api_key_for, alice)
    made = client.post(
        "/api/v1/leads",
        {"last_name": "Per API", "referred_by_id": referrer.pk},
        content_type="application/json",
        **headers,
    )
    assert made.status_code == 201
    assert made.json()["referred_by_id"] == referrer.pk
    lead_id = made.json()["id"]
    not_visible = client.patch(
        f"/api/v1/leads/{lead_id}",
        {"referred_by_id": hidden.pk},
        content_type="application/json",
        **headers,
    )
    assert not_visible.status_code == 404
    cleared = client.patch(
        f"/api/v1/leads/{lead_id}",
        {"referred_by_id": None},
        content_type="application/json",
        **headers,
    )
    assert cleared.status_code == 200
    assert cleared.json()["referred_by_id"] is None
