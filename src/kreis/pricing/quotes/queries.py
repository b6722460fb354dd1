"""Reads of quotes and approvals. A quote is visible to whoever sees its deal (and, read-only,
to whoever is asked to decide a request on it) and changed by whoever may change the deal;
the approvals inbox is for sales managers and administrators."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.pricing.models import ApprovalStatus, DiscountApproval, Quote
from kreis.pricing.quotes.services import approvers_for
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
    if not user.is_authenticated or not user.is_active:
        return False
    approvals = list(quote.approvals.select_related("requested_by"))
    if any(a.decided_by_id == user.pk for a in approvals):
        return True
    pending = [a for a in approvals if a.status == ApprovalStatus.REQUESTED]
    return any(user in approvers_for(a.requested_by) for a in pending)


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
