"""Issue 14 (items 7 and 8): why a request was withdrawn is in the API, and the approvals
inbox links a quote or deal only for a viewer who may open it — a fallback sales manager sees
requests on deals she cannot see."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kreis.core.models import Role
from kreis.pricing.models import ApprovalStatus, DiscountApproval
from kreis.pricing.pricelists import services as prices
from kreis.pricing.quotes import queries
from kreis.pricing.quotes import services as quotes
from kreis.sales.services import deal_update
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.pricing.test_pricing_approvers import _deal, sabine, solo, sven  # noqa: F401
from tests.sales.test_deal_api import api_for

pytestmark = pytest.mark.django_db

D = Decimal
WARTUNG = {"description": "Wartung", "quantity": D("12"), "unit_price": D("100")}


def _withdrawn_quote_request(solo, sven):  # noqa: F811
    """Sina's quote asks for 30 % (limit 10 %); she revises it, which withdraws the request."""
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo)
    quote = quotes.quote_create(actor=solo, deal=deal, discounts={deal.lines.get().pk: D("30")})
    quotes.quote_submit(actor=solo, quote=quote, reason="Großauftrag")
    quotes.quote_revise(actor=solo, quote=quote, discounts={quote.lines.get().pk: D("20")})
    return deal, quote, DiscountApproval.objects.get(quote=quote)


def _decided_rows(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/pricing/approvals/")
    assert response.status_code == 200
    return response.content.decode().split("Decided</h2>")[-1].split("Entschieden</h2>")[-1]


def test_the_api_says_why_a_request_was_withdrawn(solo, sven, api_key_for):  # noqa: F811
    deal, quote, by_revision = _withdrawn_quote_request(solo, sven)
    by_lines = quotes.deal_approval_request(actor=solo, deal=_deal(solo, D("300")), reason="x")
    deal_update(actor=solo, deal=by_lines.deal, lines=[{**WARTUNG, "discount": D("250")}])
    by_lines.refresh_from_db()
    assert by_lines.status == ApprovalStatus.WITHDRAWN
    pending = quotes.deal_approval_request(actor=solo, deal=by_lines.deal, reason="neu")

    response = api_for(api_key_for(sven)).get("/pricing/approvals")
    assert response.status_code == 200
    found = {item["id"]: item for item in response.json()["items"]}
    assert found[by_revision.pk]["status"] == "withdrawn"
    assert found[by_revision.pk]["withdrawn_because"] == "quote_revised"
    assert found[by_lines.pk]["withdrawn_because"] == "lines_changed"
    assert found[pending.pk]["withdrawn_because"] == ""
    # The schema names the codes, like the other choice fields of this API (codes, not labels).
    schema = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    field = schema["PricingApprovalOut"]["properties"]["withdrawn_because"]
    assert set(field["enum"]) == {"", "quote_revised", "lines_changed"}
    assert "withdrawn_because" in schema["PricingApprovalOut"]["required"]


def test_no_link_to_what_a_fallback_manager_cannot_open(solo, sven, sabine):  # noqa: F811
    deal, quote, withdrawn = _withdrawn_quote_request(solo, sven)
    deal_request = quotes.deal_approval_request(actor=solo, deal=_deal(solo, D("300")), reason="x")
    quotes.approval_decide(actor=sabine, approval=deal_request, approve=True, note="ok")
    quote_url = f"/pricing/quotes/{quote.pk}/"
    deal_url = f"/deals/{deal_request.deal_id}/"

    # Sven (a fallback sales manager) may not open either: no links, only the names.
    client = Client()
    client.force_login(sven)
    assert client.get(quote_url).status_code == 404
    assert client.get(deal_url).status_code == 404
    rows = _decided_rows(sven)
    assert "Withdrawn: the quote was revised" in rows
    assert quote.label in rows
    assert "Keller 2026" in rows
    assert f'href="{quote_url}"' not in rows
    assert f'href="{deal_url}"' not in rows

    # Sabine decided the deal's request (she still may not open the deal itself) — and Sina,
    # whose deals they are, gets both links, each of which opens.
    rows = _decided_rows(sabine)
    assert f'href="{deal_url}"' not in rows
    assert f'href="{quote_url}"' not in rows
    client.force_login(solo)
    rows = _decided_rows(solo)
    for url in (quote_url, deal_url):
        assert f'href="{url}"' in rows
        assert client.get(url).status_code == 200


def test_a_quote_link_for_whoever_decided_or_is_asked(solo, sven, sabine):  # noqa: F811
    prices.settings_update(actor=sven, default_discount_limit=D("10"))
    deal = _deal(solo)
    quote = quotes.quote_create(actor=solo, deal=deal, discounts={deal.lines.get().pk: D("30")})
    quotes.quote_submit(actor=solo, quote=quote, reason="Großauftrag")
    url = f'href="/pricing/quotes/{quote.pk}/"'
    client = Client()
    for manager in (sven, sabine):  # both are asked: the link is there and opens
        client.force_login(manager)
        assert url in client.get("/pricing/approvals/").content.decode()
        assert client.get(f"/pricing/quotes/{quote.pk}/").status_code == 200
    approval = DiscountApproval.objects.get(quote=quote)
    quotes.approval_decide(actor=sven, approval=approval, approve=False, note="zu viel")
    assert url in _decided_rows(sven)  # he decided it
    assert url not in _decided_rows(sabine)  # another decided it; closed to her
    client.force_login(sabine)
    assert client.get(f"/pricing/quotes/{quote.pk}/").status_code == 404


def test_the_batch_agrees_with_approvers_for(solo, sven, sabine):  # noqa: F811
    """``approver_ids_by_rep`` (the inbox's batch) answers as ``approvers_for`` does."""
    team = TeamFactory(name="Süd")
    in_team = UserFactory(username="tim", role=Role.SALES_REP)
    MembershipFactory(team=team, user=in_team)
    boss = UserFactory(username="berta", role=Role.SALES_REP)
    MembershipFactory(team=team, user=boss, is_manager=True)
    reader = UserFactory(username="rolf", role=Role.READ_ONLY)
    MembershipFactory(team=team, user=reader, is_manager=True)
    lonely = UserFactory(username="lena", role=Role.SALES_REP)
    MembershipFactory(team=TeamFactory(name="Leer"), user=lonely, is_manager=True)
    admin = UserFactory(username="adam", role=Role.ADMIN)
    reps = [solo, in_team, boss, lonely, sven, None]
    batch = quotes.approver_ids_by_rep(getattr(r, "pk", None) for r in reps)
    for rep in reps:
        expected = {u.pk for u in quotes.approvers_for(rep)}
        assert batch[getattr(rep, "pk", None)] == expected, rep
    assert batch[in_team.pk] == {boss.pk}
    assert batch[boss.pk] == {sven.pk, sabine.pk}  # manages only herself: the fallback
    # Without sales managers the administrators are asked.
    sven.is_active = sabine.is_active = False
    sven.save()
    sabine.save()
    assert quotes.approver_ids_by_rep([solo.pk])[solo.pk] == {admin.pk}


def test_the_inbox_links_in_a_fixed_number_of_queries(solo, sven):  # noqa: F811
    deal, quote, withdrawn = _withdrawn_quote_request(solo, sven)
    others = [UserFactory(username=f"rep{i}", role=Role.SALES_REP) for i in range(3)]
    approvals = list(queries.approval_list_for_user(user=sven))
    with CaptureQueriesContext(connection) as one:
        queries.approvals_with_links(user=sven, approvals=approvals)
    for i, rep in enumerate(others):  # pending requests by other reps on sven's hidden quote
        DiscountApproval.objects.create(
            quote=quote, deal=deal, requested_discount=D("20"), limit_percent=D("10"),
            reason=f"r{i}", requested_by=rep,
        )  # fmt: skip
    approvals = list(queries.approval_list_for_user(user=sven))
    with CaptureQueriesContext(connection) as many:
        queries.approvals_with_links(user=sven, approvals=approvals)
    assert len(many.captured_queries) <= 5
    assert len(one.captured_queries) <= len(many.captured_queries)
    assert all(a.quote_link for a in approvals)  # now sven is asked (fallback for each rep)
