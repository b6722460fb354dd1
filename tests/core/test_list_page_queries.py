"""The list pages of issue 14 ask the database the same number of questions for N rows as for
3N: the rule run log, a playbook's enrollments, the approvals inbox, the skills matrix, the
targets list and the forecast page."""

import datetime as dt
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kreis.automation.rules import services as rules
from kreis.automation.rules.models import RuleRun, RunStatus
from kreis.commerce.models import Product
from kreis.core.competencies.models import Competency, UserCompetency
from kreis.parties.services import party_create
from kreis.playbooks import services as playbooks
from kreis.playbooks.models import Playbook
from kreis.pricing.models import ApprovalStatus, DiscountApproval
from kreis.pricing.quotes import services as quotes
from kreis.sales.forecast.services import forecast_submit
from kreis.sales.periods import period_containing, period_from_key
from kreis.sales.services import deal_create, ensure_default_pipeline
from kreis.sales.targets.services import target_create
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import stage_named

pytestmark = pytest.mark.django_db

N = 3


def _page_queries(client, url: str) -> tuple[list[str], str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries], response.content.decode()


def queries_do_not_grow(client, url: str, add_rows: Callable[[range], None]) -> str:
    """Render ``url`` with N rows, then with 3N (``add_rows`` makes the rows of the numbers it
    is given): the number of queries must be the same. Returns the page with 3N rows."""
    add_rows(range(N))
    client.get(url)  # the session, the caches and the per-process lookups warm
    few, _ = _page_queries(client, url)
    add_rows(range(N, 3 * N))
    many, page = _page_queries(client, url)
    extra = Counter(many) - Counter(few)
    assert len(many) == len(few), "queries that grew with the rows:\n" + "\n".join(extra)
    return page


def test_rule_run_log(dana):
    rule = rules.rule_create(
        actor=dana,
        data={
            "name": "Tag new parties",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [{"kind": "add_tag", "tag": "new"}],
        },
    )
    now = timezone.now()

    def add(numbers):
        for i in numbers:
            RuleRun.objects.create(
                rule=rule,
                trigger=rule.trigger,
                record_type="party",
                record_id=i + 1,
                record_label=f"Kunde {i}",
                status=RunStatus.FAILED if i % 2 else RunStatus.SUCCEEDED,
                conditions=[{"text": "name is set", "passed": True}],
                actions=[{"text": "add tag", "status": "failed", "error": "boom", "result": ""}],
                error="boom" if i % 2 else "",
                chain_id=f"chain{i}",
                started_at=now - dt.timedelta(minutes=i),
            )

    page = queries_do_not_grow(client_for(dana), f"/automation/rules/{rule.pk}/", add)
    assert f"Kunde {3 * N - 1}" in page


def test_playbook_enrollments(alice):
    playbooks.ensure_defaults()
    playbook = Playbook.objects.get(key="retention-endangerment")
    playbook.holdout_percent = 0
    playbook.save()

    def add(numbers):
        parties = [OrganizationFactory(name=f"Kunde {i} GmbH", owner=alice) for i in numbers]
        playbooks.start_for_parties(playbook, [p.pk for p in parties], source="test")

    page = queries_do_not_grow(client_for(alice), f"/playbooks/{playbook.pk}/", add)
    assert f"Kunde {3 * N - 1} GmbH" in page


def test_approvals_inbox(alice, mia):
    ensure_default_pipeline()
    customer = party_create(actor=alice, kind="organization", name="Gerber Hydraulik GmbH")
    product = Product.objects.create(sku="P-1", name="Pumpe", list_price=Decimal("100"))

    def deal(i):
        return deal_create(
            actor=alice,
            name=f"Pumpen {i}",
            organization=customer,
            lines=[
                {"product_id": product.pk, "quantity": 2, "unit_price": 100, "discount": 30},
                {"description": "Wartung", "quantity": 1, "unit_price": 50, "discount": 10},
            ],
        )

    def add(numbers):
        for i in numbers:
            quote = quotes.quote_create(actor=alice, deal=deal(f"Q{i}"))
            for status, subject in (
                (ApprovalStatus.REQUESTED, {"deal": deal(f"D{i}")}),
                (ApprovalStatus.REQUESTED, {"quote": quote}),
                (ApprovalStatus.APPROVED, {"deal": deal(f"E{i}")}),
                (ApprovalStatus.REJECTED, {"quote": quote}),
            ):
                DiscountApproval.objects.create(
                    **subject,
                    requested_discount=Decimal("20"),
                    limit_percent=Decimal("10"),
                    reason=f"Grund {i}",
                    requested_by=alice,
                    status=status,
                    decided_by=None if status == ApprovalStatus.REQUESTED else mia,
                )

    page = queries_do_not_grow(client_for(mia), "/pricing/approvals/", add)
    assert f"Pumpen D{3 * N - 1}" in page
    assert f"Pumpen E{3 * N - 1}" in page


def test_skills_matrix(dana, north):
    competencies = [
        Competency.objects.create(kind=kind, key=key, name=key.title())
        for kind, key in (("language", "fr"), ("skill", "pumps"), ("skill", "valves"))
    ]

    def add(numbers):
        for i in numbers:
            user = UserFactory(username=f"rep{i}", last_name=f"Vertrieb {i}")
            MembershipFactory(team=north, user=user, is_manager=i % 2 == 0)
            for level, competency in enumerate(competencies[: 1 + i % 3], start=1):
                UserCompetency.objects.create(user=user, competency=competency, level=level)

    page = queries_do_not_grow(client_for(dana), "/competencies/", add)
    assert f"Vertrieb {3 * N - 1}" in page


def test_targets_list(mia, north):
    year = period_from_key("2026")

    def add(numbers):
        for i in numbers:
            rep = UserFactory(username=f"rep{i}", last_name=f"Vertrieb {i}")
            MembershipFactory(team=north, user=rep)
            for period in (year, period_from_key("2026-Q2")):
                target_create(
                    actor=mia, metric="revenue", dimension="rep", user=rep, period=period, amount=1
                )
            target_create(
                actor=mia,
                metric="revenue",
                dimension="region",
                team=north,
                region=f"Region {i}",
                period=year,
                amount=1,
            )

    page = queries_do_not_grow(client_for(mia), "/deals/targets/?year=2026&kind=all", add)
    assert f"Vertrieb {3 * N - 1}" in page


def test_forecast_page(mia, north):
    period = period_containing(timezone.localdate(), "quarter")
    close = period.start + dt.timedelta(days=10)
    previous = period.previous()

    def add(numbers):
        for i in numbers:
            rep = UserFactory(username=f"rep{i}", last_name=f"Vertrieb {i}")
            MembershipFactory(team=north, user=rep)
            for stage in ("Qualification", "Negotiation"):
                deal_create(
                    actor=rep,
                    name=f"Deal {i} {stage}",
                    stage=stage_named(stage),
                    amount=1000,
                    expected_close=close,
                )
            forecast_submit(actor=rep, period=period, forecast=str(900 + i))
            forecast_submit(actor=rep, period=previous, forecast=str(800 + i))

    page = queries_do_not_grow(
        client_for(mia), f"/deals/forecasting/?period={period.key}&team={north.pk}", add
    )
    assert f"Vertrieb {3 * N - 1}" in page
