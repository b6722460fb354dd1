"""Reads of quotes and approvals. A quote is visible to whoever sees its deal (and, read-only,
to whoever is asked to decide a request on it) and changed by whoever may change the deal;
the approvals inbox is for sales managers and administrators."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.pricing.models import ApprovalStatus, DiscountApproval, Quote
from kreis.pricing.quotes.services import approver_ids_by_rep
from kreis.sales.models import Deal


def quote_list_for_user(*, user: User) -> QuerySet[Quote]:
    deals = visible_records(Deal.objects.filter(deleted_at__isnull=True), user=user)
    return Quote.objects.filter(deal__in=deals.values("pk")).select_related("deal", "party")


def quotes_of_deal(deal: Deal) -> QuerySet[Quote]:
    return deal.quotes.select_related("created_by").order_by("-version")


def approvals_of_deal_lines(deal: Deal, limit: int = 20) -> list[DiscountApproval]:
    """The requests about the deal's own line items (not a quote's), newest first: the
    approval history the deal's quote section shows to whoever sees the deal."""
    return list(
        DiscountApproval.objects.filter(deal=deal, quote__isnull=True).select_related(
            "requested_by", "decided_by"
        )[:limit]
    )


def quote_get_for_user(*, user: User, pk: int, write: bool = False) -> Quote:
    quote = (
        Quote.objects.select_related("deal", "deal__stage", "party", "created_by", "order")
        .filter(pk=pk, deal__deleted_at__isnull=True)
        .first()
    )
    perm = "core.change_record" if write else "core.view_record"
    if quote is None:
        raise Http404
    if not user.has_perm(perm, quote.deal) and (write or not is_approver_of_quote(user, quote)):
        raise Http404
    return quote


def is_approver_of_quote(user: User, quote: Quote) -> bool:
    """Whoever is asked to decide a pending request on the quote (the managers of the rep's
    teams, or the fallback sales managers and administrators), or has decided one, may read
    the quote even without seeing its deal."""
    return quote.pk in quotes_read_as_approver(user=user, quote_ids=[quote.pk])


def quotes_read_as_approver(*, user: User, quote_ids: Iterable[int]) -> set[int]:
    """Of ``quote_ids``, the quotes ``user`` may read as an approver (``is_approver_of_quote``),
    in at most five queries however many quotes."""
    if not user.is_authenticated or not user.is_active:
        return set()
    rows = DiscountApproval.objects.filter(quote_id__in=list(quote_ids)).filter(
        Q(decided_by_id=user.pk) | Q(status=ApprovalStatus.REQUESTED)
    )
    readable: set[int] = set()
    pending: list[tuple[int, int | None]] = []
    for quote_id, decided_by_id, status, rep_id in rows.values_list(
        "quote_id", "decided_by_id", "status", "requested_by_id"
    ):
        if decided_by_id == user.pk:
            readable.add(quote_id)
        elif status == ApprovalStatus.REQUESTED:
            pending.append((quote_id, rep_id))
    pending = [(q, rep) for q, rep in pending if q not in readable]
    if pending:
        approvers = approver_ids_by_rep(rep for _, rep in pending)
        readable |= {q for q, rep in pending if user.pk in approvers[rep]}
    return readable


def approvals_with_links(
    *, user: User, approvals: Iterable[DiscountApproval]
) -> list[DiscountApproval]:
    """The requests, each with ``quote_link`` and ``deal_link``: whether ``user`` may open its
    quote (``quote_get_for_user`` finds it) and its deal (``core.view_record``) — a fallback
    sales manager may see a request on a deal she cannot open. A fixed number of queries
    however many requests (the approvals inbox)."""
    approvals = list(approvals)
    as_approver: set[int] = set()
    for approval in approvals:
        deal = approval.deal if approval.deal_id else None
        approval.deal_link = (
            deal is not None and deal.deleted_at is None and user.has_perm("core.view_record", deal)
        )
        approval.quote_link = False
        if approval.quote_id and approval.quote.deal.deleted_at is None:
            if user.has_perm("core.view_record", approval.quote.deal):
                approval.quote_link = True
            else:
                as_approver.add(approval.quote_id)
    if as_approver:
        readable = quotes_read_as_approver(user=user, quote_ids=as_approver)
        for approval in approvals:
            if approval.quote_id in readable:
                approval.quote_link = True
    return approvals


def approval_list_for_user(*, user: User, pending_only: bool = False) -> QuerySet[DiscountApproval]:
    """Managers see every request; a rep sees her own."""
    qs = DiscountApproval.objects.select_related(
        "quote", "quote__deal", "deal", "requested_by", "decided_by"
    )
    if not user.has_perm("pricing.manage"):
        qs = qs.filter(requested_by=user)
    if pending_only:
        qs = qs.filter(status=ApprovalStatus.REQUESTED)
    return qs


def approval_get_for_user(*, user: User, pk: int, write: bool = False) -> DiscountApproval:
    approval = approval_list_for_user(user=user).filter(pk=pk).first()
    if approval is None:
        raise Http404
    if write and not user.has_perm("pricing.manage"):
        raise PermissionDenied
    return approval
