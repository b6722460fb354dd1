"""Reads of mailings, permission-aware: every view and API route fetches through here."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.mailings.models import Mailing, Recipient, Suppression


def mailing_list_for_user(*, user: User) -> QuerySet[Mailing]:
    if not user.has_perm("mailings.view"):
        return Mailing.objects.none()
    return Mailing.objects.select_related("segment", "campaign", "owner").order_by(
        "-created_at", "-pk"
    )


def mailing_get_for_user(*, user: User, pk: int, write: bool = False) -> Mailing:
    """A mailing the user may see (else ``Http404``), or change with ``write`` (else
    ``PermissionDenied``)."""
    mailing = (
        Mailing.objects.select_related("segment", "campaign", "owner", "team").filter(pk=pk).first()
    )
    if mailing is None or not user.has_perm("mailings.view_record", mailing):
        raise Http404
    if write and not user.has_perm("mailings.change_record", mailing):
        raise PermissionDenied
    return mailing


def recipients_of(mailing: Mailing, *, state: str = "", reason: str = "") -> QuerySet[Recipient]:
    rows = Recipient.objects.filter(mailing=mailing).select_related("party").order_by("pk")
    if state:
        rows = rows.filter(state=state)
    if reason:
        rows = rows.filter(skip_reason=reason)
    return rows


def suppression_list_for_user(*, user: User, search: str = "") -> QuerySet[Suppression]:
    if not user.has_perm("mailings.view"):
        return Suppression.objects.none()
    rows = Suppression.objects.select_related("added_by").order_by("value")
    if search:
        rows = rows.filter(value__icontains=search)
    return rows


def suppression_get_for_user(*, user: User, pk: int) -> Suppression:
    entry = Suppression.objects.filter(pk=pk).first()
    if entry is None or not user.has_perm("mailings.view"):
        raise Http404
    if not user.has_perm("mailings.manage_suppressions"):
        raise PermissionDenied
    return entry
