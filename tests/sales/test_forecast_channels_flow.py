"""Forecast categories on deals, rep calls rolled up to managers with adjustments and history,
accuracy after the period; figures per channel; process transparency (time in stage,
conversion, stuck deals, SLA compliance)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.sales.channels.queries import channel_figures
from kreis.sales.forecast.queries import category_sums, forecast_accuracy, team_rollup
from kreis.sales.forecast.services import forecast_adjust, forecast_submit
from kreis.sales.models import ForecastSnapshot, StageChange
from kreis.sales.periods import period_containing, period_from_key
from kreis.sales.services import deal_create, deal_move, deal_update
from kreis.sales.transparency.queries import pipeline_figures
from tests.conftest import client_for
from tests.sales.factories import default_pipeline, lost_reason, stage_named

pytestmark = pytest.mark.django_db


def _quarter():
    return period_containing(timezone.localdate(), "quarter")


def test_category_follows_the_stage_until_the_rep_chooses_and_won_is_closed(alice):
    deal = deal_create(actor=alice, name="A", stage=stage_named("Qualification"), amount=100)
    assert deal.forecast_category == "pipeline"
    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    assert deal.forecast_category == "best_case"  # 50 %: the stage's default
    deal_update(actor=alice, deal=deal, forecast_category="commit")
    deal_move(actor=alice, deal=deal, stage=stage_named("Negotiation"))
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"  # her choice stays
    deal_move(actor=alice, deal=deal, stage=stage_named("Won"))
    deal.refresh_from_db()
    assert deal.forecast_category == "closed"
    with pytest.raises(ValidationError):
        deal_update(
            actor=alice,
            deal=deal_create(actor=alice, name="B", amount=1),
            forecast_category="closed",
        )


def test_deal_form_and_api_set_category_and_channel(alice, api_key_for):
    from tests.sales.test_deal_api import api_for

    api = api_for(api_key_for(alice))
    created = api.post(
        "/deals",
        {"name": "Online-Shop", "channel": "online", "forecast_category": "commit", "amount": "5"},
    )
    assert created.status_code == 201, created.json()
    assert (created.json()["channel"], created.json()["forecast_category"]) == ("online", "commit")
    listed = api.get("/deals", {"channel": "online", "forecast_category": "commit"}).json()
    assert [d["name"] for d in listed["items"]] == ["Online-Shop"]
    page = client_for(alice).get(f"/deals/{created.json()['id']}/").content.decode()
    assert "Online" in page
    assert "Commit" in page


def test_rep_call_rolls_up_and_manager_adjusts_with_a_note(alice, bob, mia, north):
    period = _quarter()
    close = period.start + dt.timedelta(days=10)
    deal_create(actor=alice, name="A", stage=stage_named("Negotiation"), amount=1000,
                expected_close=close)  # fmt: skip
    deal_create(actor=bob, name="B", stage=stage_named("Qualification"), amount=500,
                expected_close=close)  # fmt: skip
    sums = category_sums(period=period, owner_ids=[alice.pk, bob.pk])
    assert (sums[alice.pk].commit, sums[bob.pk].pipeline) == (Decimal(1000), Decimal(500))
    forecast_submit(actor=alice, period=period, forecast="900", note="vorsichtig")
    rollup = team_rollup(team=north, period=period)
    assert rollup.reps_forecast == Decimal("900")  # alice's call, bob (no call): 0 suggested
    with pytest.raises(ValidationError):
        forecast_adjust(actor=mia, team=north, period=period, forecast="800", note=" ")
    with pytest.raises(PermissionDenied):
        forecast_adjust(actor=alice, team=north, period=period, forecast="1", note="x")
    forecast_adjust(actor=mia, team=north, period=period, forecast="850", note="Budgetrisiko")
    rollup = team_rollup(team=north, period=period)
    assert rollup.forecast == Decimal("850")
    assert list(
        ForecastSnapshot.objects.order_by("pk").values_list("kind", "user_id", "forecast")
    ) == [("submission", alice.pk, Decimal("900.00")), ("adjustment", None, Decimal("850.00"))]


def test_forecast_page_lets_a_rep_submit_and_hides_the_rollup_from_her(alice, mia, north):
    client = client_for(alice)
    key = _quarter().key
    response = client.post("/deals/forecasting/submit/", {"period": key, "forecast": "1234"})
    assert response.status_code == 302
    page = client.get(f"/deals/forecasting/?period={key}").content.decode()
    assert 'data-testid="my-call"' in page
    assert 'data-testid="team-rollup"' not in page
    manager_page = client_for(mia).get(f"/deals/forecasting/?period={key}").content.decode()
    assert 'data-testid="team-rollup"' in manager_page
    assert "Alice" in manager_page
    refused = client.post(
        "/deals/forecasting/adjust/",
        {"period": key, "team": north.pk, "forecast": "1", "note": "x"},
    )
    assert refused.status_code == 404
    assert ForecastSnapshot.objects.filter(kind="adjustment").count() == 0


def test_accuracy_compares_won_amount_with_the_last_call():
    from kreis.sales.forecast.queries import Accuracy

    period = period_from_key("2020-Q1")
    assert Accuracy(None, period, Decimal(90), Decimal(100)).value == Decimal("0.900")
    assert Accuracy(None, period, Decimal(300), Decimal(100)).value == Decimal("0.000")
    assert Accuracy(None, period, Decimal(10), None).value is None


def test_accuracy_is_measured_only_for_ended_periods(alice, north):
    past = period_from_key("2020-Q1")
    won = deal_create(actor=alice, name="W", stage=stage_named("Won"), amount=800)
    won.closed_at = dt.datetime(2020, 2, 1, 12, tzinfo=dt.UTC)
    won.save()
    forecast_submit(actor=alice, period=past, forecast="1000")
    current = _quarter()
    rows = forecast_accuracy(reps=[alice], periods=[past, current])
    assert [(r.period.key, r.actual, r.value) for r in rows] == [
        ("2020-Q1", Decimal("800.00"), Decimal("0.800"))
    ]


def test_channel_figures_count_revenue_wins_losses_and_average_size(alice, north):
    from kreis.commerce.services import transaction_create
    from tests.parties.factories import OrganizationFactory

    org = OrganizationFactory(owner=alice, team=north)
    today = timezone.localdate()
    transaction_create(actor=None, kind="order", party=org, date=today, owner=alice, team=north,
                       channel="Partner", lines=[{"description": "x", "quantity": 1,
                                                  "unit_price": "400"}])  # fmt: skip
    for amount in ("1000", "3000"):
        deal_create(actor=alice, name="W", stage=stage_named("Won"), amount=amount,
                    channel="partner")  # fmt: skip
    deal_create(actor=alice, name="L", stage=stage_named("Lost"), amount=5, channel="partner",
                lost_reason=lost_reason())  # fmt: skip
    rows = {r.code: r for r in channel_figures(user=alice, period=period_from_key(f"{today.year}"))}
    partner = rows["partner"]
    assert (partner.revenue, partner.won, partner.lost) == (Decimal("400.00"), 2, 1)
    assert partner.win_rate == Decimal("66.7")
    assert partner.average_deal == Decimal("2000.00")
    page = client_for(alice).get("/deals/channels/").content.decode()
    assert "channel=partner" in page


def test_transparency_measures_stays_conversion_and_stuck_deals(alice, charlie):
    pipeline = default_pipeline()
    qualification, analysis = stage_named("Qualification"), stage_named("Needs analysis")
    now = timezone.now()
    deals = []
    for days in (2, 4, 6):
        deal = deal_create(actor=alice, name=f"D{days}", stage=qualification, amount=1)
        deal_move(actor=alice, deal=deal, stage=analysis)
        first, second = StageChange.objects.filter(deal=deal).order_by("pk")
        StageChange.objects.filter(pk=first.pk).update(changed_at=now - dt.timedelta(days=30))
        StageChange.objects.filter(pk=second.pk).update(
            changed_at=now - dt.timedelta(days=30 - days)
        )
        deals.append(deal)
    waiting = deal_create(actor=alice, name="Hängt", stage=qualification, amount=1)
    StageChange.objects.filter(deal=waiting).update(changed_at=now - dt.timedelta(days=20))
    figures = {f.stage.pk: f for f in pipeline_figures(user=alice, pipeline=pipeline)}
    q = figures[qualification.pk]
    assert q.median == pytest.approx(4.0)
    assert (q.entered, q.moved_on, q.conversion) == (4, 3, Decimal("75.0"))
    assert q.stuck_ids == [waiting.pk]  # 20 days > 2 × 4
    page = client_for(alice).get(
        f"/deals/transparency/stuck/?pipeline={pipeline.pk}&stage={qualification.pk}"
    )
    assert "Hängt" in page.content.decode()
    theirs = client_for(charlie).get(
        f"/deals/transparency/stuck/?pipeline={pipeline.pk}&stage={qualification.pk}"
    )
    assert "Hängt" not in theirs.content.decode()
    assert all(f.entered == 0 for f in pipeline_figures(user=charlie, pipeline=pipeline))
