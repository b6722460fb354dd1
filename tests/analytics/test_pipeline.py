"""The nightly run end to end: warehouse refresh (incremental), figures on the parties, phase
changes as events, the CLV fit reproducing the published CDNOW parameters from raw
transactions imported into Kreis, and the API/CLI around it."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from kreis.analytics import warehouse
from kreis.analytics.models import AnalyticsSettings, ClvFit, PhaseChange
from kreis.analytics.runs import pipeline
from kreis.analytics.signals import phase_changed
from kreis.commerce import services as commerce
from kreis.commerce.models import Transaction, TransactionLine
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from tests.conftest import client_for

CDNOW = Path(__file__).parent / "data" / "cdnow"
TODAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def customer(name: str, **fields) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=name, **fields)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    return party


def buy(party: Party, day: dt.date, amount: str, kind: str = "order") -> Transaction:
    return commerce.transaction_create(
        actor=None,
        party=party,
        kind=kind,
        date=day,
        lines=[{"description": "Goods", "quantity": Decimal(1), "unit_price": Decimal(amount)}],
    )


def sig3(value: float) -> float:
    return round(value, 2 - math.floor(math.log10(abs(value))))


@pytest.fixture
def shop(db):
    """A regular buyer, a big new customer, a lapsed one and a prospect."""
    regular = customer("Regular GmbH")
    for months in range(1, 24):
        buy(regular, TODAY - dt.timedelta(days=30 * months), "100.00")
    big = customer("Big AG")
    buy(big, TODAY - dt.timedelta(days=20), "5000.00")
    lapsed = customer("Lapsed KG")
    for days in (700, 640, 580, 520, 460):
        buy(lapsed, TODAY - dt.timedelta(days=days), "300.00")
    prospect = Party.objects.create(kind=PartyKind.ORGANIZATION, name="Maybe SE")
    PartyRoleAssignment.objects.create(party=prospect, role=PartyRole.PROSPECT)
    return {"regular": regular, "big": big, "lapsed": lapsed, "prospect": prospect}


@pytest.mark.django_db(transaction=True)
def test_a_run_outside_a_transaction_stages_and_reads_in_bulk(shop):
    """Outside a transaction the figures are staged by ADBC in an attached file (SQLite) or
    read by ADBC (PostgreSQL); the result is the one the cursor paths give."""
    assert pipeline.run(as_of=TODAY).status == "done"
    big, lapsed = (Party.objects.get(pk=shop[k].pk) for k in ("big", "lapsed"))
    assert (big.abc_class, lapsed.abc_class, lapsed.lifecycle_phase) == ("A", "C", "abstinence")
    assert big.revenue_12m == Decimal("5000.00")
    assert big.figures_computed_at is not None
    PartyRoleAssignment.objects.filter(party=big).delete()
    for txn in Transaction.objects.filter(party=big):
        commerce.transaction_delete(actor=None, transaction=txn)
    assert pipeline.run(as_of=TODAY + dt.timedelta(days=1)).status == "done"
    big.refresh_from_db()
    assert (big.abc_class, big.clv, big.figures_computed_at) == ("", None, None)
    lapsed.refresh_from_db()
    assert lapsed.lifecycle_phase == "abstinence"


def test_run_stores_figures_on_the_parties_with_reasons(shop):
    record = pipeline.run(as_of=TODAY)
    assert record.status == "done"
    regular, big, lapsed, prospect = (
        Party.objects.get(pk=shop[k].pk) for k in ("regular", "big", "lapsed", "prospect")
    )
    # Last 12 months: big 5,000 of 6,200 (81 %) crosses the 80 % line and is still A; regular
    # starts at 81 % → B; lapsed bought nothing → C.
    assert big.abc_class == "A"
    assert regular.abc_class == "B"
    assert lapsed.abc_class == "C"
    assert regular.revenue_12m == Decimal("1200.00")
    assert lapsed.lifecycle_phase == "abstinence"
    assert lapsed.lifecycle_facts["days"] == 460
    assert big.lifecycle_phase == "socialization"
    assert prospect.lifecycle_phase == "initiation"
    assert regular.lifecycle_phase in {"maturity", "growth", "endangerment"}
    assert regular.rfm_segment
    assert regular.rfm_recency is not None
    assert regular.figures_computed_at is not None
    assert prospect.clv is None
    changes = PhaseChange.objects.filter(date=TODAY)
    assert changes.count() == 4
    assert changes.get(party=lapsed).from_phase == ""


def test_second_run_is_incremental_and_sees_new_and_deleted_transactions(shop):
    pipeline.run(as_of=TODAY)
    received = []

    def listen(sender, changes, **kw):
        received.extend(changes)

    phase_changed.connect(listen, weak=False)
    try:
        again = pipeline.run(as_of=TODAY)
        assert again.counts["phase_changes"] == 0
        # The day after abstinence was recorded the customer buys again.
        tomorrow = TODAY + dt.timedelta(days=1)
        won = buy(shop["lapsed"], tomorrow, "50.00")
        pipeline.run(as_of=tomorrow)
    finally:
        # Only this test's listener: the webhooks' receiver stays connected for later tests.
        phase_changed.disconnect(listen)
    lapsed = Party.objects.get(pk=shop["lapsed"].pk)
    assert lapsed.lifecycle_phase == "socialization"
    assert lapsed.won_back_at == tomorrow
    assert [(c.party_id, c.won_back) for c in received if c.won_back] == [(lapsed.pk, True)]
    con = warehouse.connect(read_only=True)
    sales = warehouse.tables(con)["fact_sales"]
    assert sales.filter(sales.transaction_id == won.pk).count().execute() == 1
    con.disconnect()

    commerce.transaction_delete(actor=None, transaction=won)
    warehouse.refresh()
    con = warehouse.connect(read_only=True)
    sales = warehouse.tables(con)["fact_sales"]
    assert sales.filter(sales.transaction_id == won.pk).count().execute() == 0
    total = sales.count().execute()
    con.disconnect()
    assert total == TransactionLine.objects.filter(transaction__deleted_at=None).count()


def test_manual_override_survives_the_next_run(shop):
    pipeline.run(as_of=TODAY)
    Party.objects.filter(pk=shop["big"].pk).update(
        lifecycle_phase="dissolution", lifecycle_override=True, lifecycle_note="Insolvent"
    )
    pipeline.run(as_of=TODAY)
    big = Party.objects.get(pk=shop["big"].pk)
    assert big.lifecycle_phase == "dissolution"
    assert big.abc_class == "A"


def test_party_page_and_api_show_the_figures(shop, dana):
    pipeline.run(as_of=TODAY)
    client = client_for(dana)
    page = client.get(f"/analytics/party/{shop['lapsed'].pk}/figures/").content.decode()
    assert "Abstinence: no purchase for 460 days" in page
    listing = client.get("/parties/?lifecycle_phase=abstinence").content.decode()
    assert "Lapsed KG" in listing
    assert "Regular GmbH" not in listing
    api = client.get("/api/v1/organizations?sort=-clv&abc_class=A").json()
    names = [row["name"] for row in api["items"]]
    assert names == ["Big AG"]
    assert api["items"][0]["figures"]["abc_class"] == "A"


def test_only_admins_start_runs_and_the_api_reports_progress(shop, alice, dana, rory):
    assert (
        client_for(alice).post("/api/v1/analytics/run", {}, "application/json").status_code == 403
    )
    assert client_for(rory).post("/api/v1/analytics/run", {}, "application/json").status_code == 403
    response = client_for(dana).post("/api/v1/analytics/run", {}, "application/json")
    assert response.status_code == 202
    run = client_for(dana).get(f"/api/v1/analytics/runs/{response.json()['id']}").json()
    assert run["status"] == "done"
    assert run["progress"] == 100
    page = client_for(dana).get(f"/analytics/runs/{run['id']}/").content.decode()
    assert "done" in page


def test_runs_are_followed_by_admins_and_sales_managers_only(shop, alice, mia, dana):
    record = client_for(dana).post("/api/v1/analytics/run", {}, "application/json").json()
    for url in ("/api/v1/analytics/runs", f"/api/v1/analytics/runs/{record['id']}"):
        assert client_for(alice).get(url).status_code == 403
        assert client_for(mia).get(url).status_code == 200
    for url in ("/analytics/runs/", f"/analytics/runs/{record['id']}/"):
        assert client_for(alice).get(url).status_code == 403
        assert client_for(mia).get(url).status_code == 200
    assert "/analytics/runs/" not in client_for(alice).get("/analytics/").content.decode()
    assert "/analytics/runs/" in client_for(mia).get("/analytics/").content.decode()


def test_settings_are_validated(dana, alice):
    bad = client_for(dana).patch(
        "/api/v1/analytics/settings", {"abc_a": 90, "abc_b": 85}, "application/json"
    )
    assert bad.status_code == 422
    ok = client_for(dana).patch(
        "/api/v1/analytics/settings", {"time_unit": "weeks"}, "application/json"
    )
    assert ok.json()["time_unit"] == "weeks"
    assert (
        client_for(alice)
        .patch("/api/v1/analytics/settings", {"time_unit": "days"}, "application/json")
        .status_code
        == 403
    )


def test_settings_page_in_german_keeps_the_date_and_marks_one_nav_entry(dana):
    AnalyticsSettings.objects.update_or_create(pk=1, defaults={"calibration_end": TODAY})
    dana.language = "de"
    dana.save()
    page = client_for(dana).get("/analytics/settings/").content.decode()
    assert 'value="2026-06-30"' in page  # ISO, which a date input accepts in any language
    assert 'class="form-control"' in page
    assert page.count("nav-link active") == 1


def _import_cdnow() -> None:
    """The raw CDNOW transactions as Kreis parties, orders and lines (no cost: margin =
    revenue)."""
    rows = []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        if line.strip():
            _, customer_id, day, _cds, dollars = line.split()
            rows.append(
                (int(customer_id), dt.date(int(day[:4]), int(day[4:6]), int(day[6:])), dollars)
            )
    parties = Party.objects.bulk_create(
        Party(kind=PartyKind.PERSON, name=f"CDNOW {i}", external_id=f"cdnow-{i}")
        for i in range(1, 2358)
    )
    by_id = {int(p.external_id.split("-")[1]): p for p in parties}
    PartyRoleAssignment.objects.bulk_create(
        PartyRoleAssignment(party=p, role=PartyRole.CUSTOMER) for p in parties
    )
    transactions = Transaction.objects.bulk_create(
        Transaction(kind="order", party=by_id[cid], date=day, net_revenue=Decimal(dollars), cost=0)
        for cid, day, dollars in rows
    )
    TransactionLine.objects.bulk_create(
        TransactionLine(
            transaction=t,
            description="CDs",
            quantity=Decimal(1),
            unit_price=t.net_revenue,
            net_revenue=t.net_revenue,
        )
        for t in transactions
    )


@pytest.mark.django_db
def test_clv_fit_reproduces_the_published_cdnow_parameters(dana):
    _import_cdnow()
    AnalyticsSettings.objects.update_or_create(
        pk=1, defaults={"calibration_end": dt.date(1997, 9, 30), "time_unit": "weeks"}
    )
    pipeline.run(as_of=dt.date(1997, 9, 30))
    fit = ClvFit.objects.get()
    # Fader, Hardie & Lee (2005); Fader & Hardie (2013) — to 3 significant digits.
    assert (sig3(fit.r), sig3(fit.alpha), sig3(fit.a), sig3(fit.b)) == (0.243, 4.41, 0.793, 2.43)
    assert round(fit.bgnbd_log_likelihood, 1) == -9582.4
    assert (sig3(fit.p), sig3(fit.q), sig3(fit.gamma)) == (6.25, 3.74, 15.4)
    assert round(fit.gamma_gamma_log_likelihood, 2) == -4055.92
    assert fit.customers == 2357
    assert fit.repeat_customers == 946
    body = client_for(dana).get("/api/v1/analytics/clv").json()
    assert body["calibration"] == {"start": "1997-01-01", "end": "1997-09-30", "time_unit": "weeks"}
    assert sig3(body["bgnbd"]["r"]) == 0.243
    assert sig3(body["gamma_gamma"]["q"]) == 3.74
    # Customer 1 of the paper: x = 2, t_x = 30.43, T = 38.86 → P(alive) ≈ 0.7266.
    first = Party.objects.get(external_id="cdnow-1")
    assert first.p_alive == pytest.approx(0.7266, abs=5e-4)


def test_cli_runs_and_prints(shop, capsys):
    call_command("analytics", "run", "--as-of", TODAY.isoformat(), verbosity=0)
    capsys.readouterr()
    call_command("analytics", "abc")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "abc,label,parties"  # CSV with a header
    assert "A,A,1" in out
    assert "B,B,1" in out
    call_command("warehouse", "info")
    assert "fact_sales:" in capsys.readouterr().out


def test_runs_list_shows_how_many_seconds_a_run_took(dana):
    from django.utils import timezone

    from kreis.analytics.runs.models import AnalyticsRun, RunStatus

    run = AnalyticsRun.objects.create(as_of=TODAY, status=RunStatus.DONE)
    started = timezone.now() - dt.timedelta(minutes=5)
    AnalyticsRun.objects.filter(pk=run.pk).update(
        started_at=started, finished_at=started + dt.timedelta(seconds=83.4)
    )
    page = client_for(dana).get("/analytics/runs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "83.4" in page


def test_cli_refreshes_the_warehouse_fully_and_shows_progress(shop, capsys):
    call_command("warehouse", "refresh", "--full", verbosity=2)
    captured = capsys.readouterr()
    assert captured.out.startswith("full refresh in ")
    assert "fact_sales" in captured.out
    assert "%]" in captured.err  # the progress lines at verbosity 2
    call_command("warehouse", "refresh")
    assert capsys.readouterr().out.startswith("incremental refresh in ")
