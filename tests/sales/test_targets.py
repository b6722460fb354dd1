"""Targets and quotas: planning rights, attainment against orders and the weighted pipeline,
the pages, the API and the CSV import/export (kreis sales targets)."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kreis.commerce.services import transaction_create
from kreis.sales.models import Target
from kreis.sales.periods import period_from_key
from kreis.sales.services import deal_create
from kreis.sales.targets.queries import attainment
from kreis.sales.targets.services import target_create, targets_import_csv, targets_to_csv
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import stage_named

pytestmark = pytest.mark.django_db

YEAR = period_from_key("2026")
Q2 = period_from_key("2026-Q2")


def _order(*, owner, team, party, day, amount, channel="", kind="order", quantity="1"):
    return transaction_create(
        actor=None,
        kind=kind,
        party=party,
        date=day,
        owner=owner,
        team=team,
        channel=channel,
        lines=[{"description": "Pumpe", "quantity": quantity, "unit_price": amount}],
    )


def test_manager_plans_targets_of_her_team_but_not_of_others(mia, north, south, alice):
    target = target_create(
        actor=mia, metric="revenue", dimension="rep", user=alice, period=Q2, amount="50000"
    )
    assert target.team == north  # the rep's team the manager manages
    with pytest.raises(PermissionDenied):
        target_create(
            actor=mia, metric="revenue", dimension="team", team=south, period=Q2, amount="1"
        )
    with pytest.raises(PermissionDenied):
        target_create(
            actor=alice, metric="revenue", dimension="team", team=north, period=Q2, amount="1"
        )


def test_a_duplicate_target_is_refused_with_a_clear_error(mia, north):
    target_create(actor=mia, metric="revenue", dimension="team", team=north, period=Q2, amount=1)
    with pytest.raises(ValidationError) as exc:
        target_create(
            actor=mia, metric="revenue", dimension="team", team=north, period=Q2, amount=2
        )
    assert "period" in exc.value.message_dict


def test_attainment_counts_orders_minus_returns_and_weights_open_deals(alice, north, mia):
    org = OrganizationFactory(owner=alice, team=north, territory="Nord")
    _order(owner=alice, team=north, party=org, day=dt.date(2026, 4, 10), amount="10000")
    _order(
        owner=alice, team=north, party=org, day=dt.date(2026, 5, 2), amount="2000", kind="return"
    )
    _order(owner=alice, team=north, party=org, day=dt.date(2026, 7, 1), amount="99999")  # Q3
    deal_create(
        actor=alice,
        name="Pumpen",
        organization=org,
        stage=stage_named("Proposal"),  # 50 %
        amount="8000",
        expected_close=dt.date(2026, 6, 30),
    )
    rep = target_create(
        actor=mia, metric="revenue", dimension="rep", user=alice, period=Q2, amount="16000"
    )
    region = target_create(
        actor=mia, metric="revenue", dimension="region", region="nord", team=north, period=Q2,
        amount="4000",
    )  # fmt: skip
    rows = {r.target.pk: r for r in attainment([rep, region])}
    assert rows[rep.pk].actual == Decimal("8000.00")
    assert rows[rep.pk].weighted == Decimal("4000.00")
    assert rows[rep.pk].percent == Decimal("50.0")
    assert rows[rep.pk].projected_percent == Decimal("75.0")
    assert rows[region.pk].actual == Decimal("8000.00")  # territory "Nord", any case


def test_quantity_and_category_targets_read_the_lines(alice, north, mia):
    from kreis.commerce.models import Product

    pump = Product.objects.create(sku="P-1", name="Pumpe", list_price=100, category="Pumpen")
    org = OrganizationFactory(owner=alice, team=north)
    transaction_create(
        actor=None, kind="order", party=org, date=dt.date(2026, 4, 3), owner=alice, team=north,
        lines=[{"product": pump, "quantity": "7", "unit_price": "100"},
               {"description": "Service", "quantity": "1", "unit_price": "500"}],
    )  # fmt: skip
    qty = target_create(
        actor=mia, metric="quantity", dimension="category", category="pumpen", team=north,
        period=Q2, amount="10",
    )  # fmt: skip
    revenue = target_create(
        actor=mia, metric="revenue", dimension="category", category="Pumpen", period=Q2,
        amount="1000", team=north,
    )  # fmt: skip
    rows = {r.target.pk: r for r in attainment([qty, revenue])}
    assert rows[qty.pk].actual == Decimal("7.00")
    assert rows[revenue.pk].actual == Decimal("700.00")


def test_channel_target_reads_free_text_transaction_channels(alice, north, dana):
    org = OrganizationFactory(owner=alice, team=north)
    _order(owner=alice, team=north, party=org, day=dt.date(2026, 4, 3), amount="300",
           channel="Außendienst")  # fmt: skip
    _order(owner=alice, team=north, party=org, day=dt.date(2026, 4, 4), amount="200",
           channel="field")  # fmt: skip
    _order(owner=alice, team=north, party=org, day=dt.date(2026, 4, 5), amount="900",
           channel="online")  # fmt: skip
    target = target_create(
        actor=dana, metric="revenue", dimension="channel", channel="field", period=Q2, amount=1000
    )
    (row,) = attainment([target])
    assert row.actual == Decimal("500.00")


def test_attainment_takes_the_same_queries_for_few_and_many_targets(mia, north, alice, bob):
    few = [
        target_create(actor=mia, metric="revenue", dimension="rep", user=alice, period=Q2,
                      amount=1)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as one:
        attainment(few)
    many = few + [
        target_create(actor=mia, metric="revenue", dimension="rep", user=u, period=p, amount=1)
        for u in (bob, mia)
        for p in (Q2, YEAR, period_from_key("2026-05"))
    ] + [
        target_create(actor=mia, metric="revenue", dimension="rep", user=alice, period=p, amount=1)
        for p in (YEAR, period_from_key("2026-Q3"))
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as lots:
        attainment(Target.objects.filter(pk__in=[t.pk for t in many]).select_related("user"))
    assert len(lots.captured_queries) <= len(one.captured_queries) + 1


def test_rep_sees_own_and_team_targets_but_not_other_teams(mia, north, south, alice, dana,
                                                           charlie):  # fmt: skip
    mine = target_create(
        actor=mia, metric="revenue", dimension="team", team=north, period=YEAR, amount="123456",
        note="Nordziel",
    )  # fmt: skip
    theirs = target_create(
        actor=dana, metric="revenue", dimension="team", team=south, period=YEAR, amount=1,
        note="Südziel",
    )  # fmt: skip
    page = client_for(alice).get("/deals/targets/?year=2026").content.decode()
    assert f"/deals/targets/{mine.pk}/" in page
    assert f"/deals/targets/{theirs.pk}/" not in page
    detail = client_for(alice).get(f"/deals/targets/{mine.pk}/")
    assert detail.status_code == 200
    assert "Nordziel" in detail.content.decode()
    assert client_for(charlie).get(f"/deals/targets/{mine.pk}/").status_code == 404
    assert client_for(alice).get(f"/deals/targets/{mine.pk}/edit/").status_code == 404
    assert client_for(mia).get(f"/deals/targets/{mine.pk}/edit/").status_code == 200


def test_manager_creates_a_target_on_the_page_and_sees_errors_with_her_input(mia, north):
    client = client_for(mia)
    bad = client.post(
        "/deals/targets/new/",
        {"metric": "revenue", "dimension": "team", "period": "2026-Q5", "amount": "100",
         "team": north.pk, "currency": "EUR"},
    )  # fmt: skip
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "2026-Q5" in body
    assert "2026-Q2" in body
    good = client.post(
        "/deals/targets/new/",
        {"metric": "revenue", "dimension": "team", "period": "2026-Q2", "amount": "100",
         "team": north.pk, "currency": "EUR"},
    )  # fmt: skip
    assert good.status_code == 302
    assert Target.objects.get().period_end == dt.date(2026, 6, 30)


def test_csv_round_trip_updates_existing_and_refuses_a_bad_file_whole(mia, north, alice):
    target_create(actor=mia, metric="revenue", dimension="rep", user=alice, period=Q2, amount=5)
    text = targets_to_csv(Target.objects.all()).replace("5.00", "7500.00")
    assert targets_import_csv(actor=mia, text=text) == {"created": 0, "updated": 1}
    assert Target.objects.get().amount == Decimal("7500.00")
    bad = text + "2026-Q3,revenue,team,100,,North,,,,EUR,\n2026-Q3,revenue,rep,1,nobody,,,,,EUR,\n"
    with pytest.raises(ValidationError) as exc:
        targets_import_csv(actor=mia, text=bad)
    assert any("row 4" in key for key in exc.value.message_dict)
    assert Target.objects.count() == 1  # nothing of the good rows either
    # Line breaks of any kind inside a row are read (no server error, as they once were) …
    with pytest.raises(ValidationError) as exc:
        targets_import_csv(actor=mia, text='period,metric,dimension,amount\n"2026\r",x"\ry\n')
    assert not any("file" in key for key in exc.value.message_dict)
    # … and a file the csv module cannot read is an error of the file.
    with pytest.raises(ValidationError) as exc:
        targets_import_csv(actor=mia, text="period,metric,dimension,amount\n" + "x" * 200_000)
    assert "cannot be read as CSV" in str(exc.value.message_dict["file"])


def test_cli_exports_and_imports_targets(tmp_path, mia, north, alice):
    target_create(actor=mia, metric="revenue", dimension="rep", user=alice, period=Q2, amount=5)
    path = tmp_path / "targets.csv"
    call_command("sales", "targets", "export", "-o", str(path))
    Target.objects.all().delete()
    out = StringIO()
    call_command("sales", "targets", "import", str(path), stdout=out)
    assert "1 targets were created" in out.getvalue()
    listing = StringIO()
    call_command("sales", "targets", "list", stdout=listing)
    assert "1 targets" in listing.getvalue()


def test_api_creates_reads_and_changes_a_target_with_if_match(mia, north, api_key_for):
    from tests.sales.test_deal_api import api_for

    api = api_for(api_key_for(mia))
    created = api.post(
        "/sales/targets",
        {"metric": "revenue", "dimension": "team", "team_id": north.pk, "period": "2026-Q2",
         "amount": "90000"},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["period"], body["actual"], body["attainment_percent"]) == (
        "2026-Q2",
        "0.00",
        "0.0",
    )
    read = api.get(f"/sales/targets/{body['id']}")
    stale = api.patch(f"/sales/targets/{body['id']}", {"amount": "1"}, HTTP_IF_MATCH='"0-0"')
    assert stale.status_code == 412
    changed = api.patch(f"/sales/targets/{body['id']}", {"amount": "1"}, HTTP_IF_MATCH=read["ETag"])
    assert changed.status_code == 200
    assert changed.json()["amount"] == "1.00"
    refused = api.post(
        "/sales/targets",
        {"metric": "revenue", "dimension": "channel", "channel": "online", "period": "2026"},
    )
    assert refused.status_code == 422  # amount missing
