"""Reads of content offers for marketing's pages and the API."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.leads.queries import lead_list_for_user
from kreis.marketing.models import ContentDownload, ContentOffer, FollowUpRule, FollowUpSent
from kreis.parties.models import Party


def offer_list_for_user(*, user: User) -> QuerySet[ContentOffer]:
    if not user.has_perm("marketing.view"):
        return ContentOffer.objects.none()
    return (
        ContentOffer.objects.select_related("form", "campaign")
        .annotate(n_handed=Count("downloads"), n_downloads=Sum("downloads__download_count"))
        .order_by("position", "name", "pk")
    )


def offer_get_for_user(*, user: User, pk: int, write: bool = False) -> ContentOffer:
    offer = ContentOffer.objects.select_related("form", "campaign").filter(pk=pk).first()
    perm = "marketing.change_record" if write else "marketing.view_record"
    if offer is None or not user.has_perm("marketing.view") or not user.has_perm(perm, offer):
        raise Http404
    return offer


def rule_list_for_user(*, user: User) -> QuerySet[FollowUpRule]:
    if not user.has_perm("marketing.view"):
        return FollowUpRule.objects.none()
    return FollowUpRule.objects.select_related("offer").annotate(n_sent=Count("sent"))


def rule_get_for_user(*, user: User, pk: int, write: bool = False) -> FollowUpRule:
    rule = FollowUpRule.objects.select_related("offer").filter(pk=pk).first()
    perm = "marketing.change_record" if write else "marketing.view_record"
    if rule is None or not user.has_perm("marketing.view") or not user.has_perm(perm, rule):
        raise Http404
    return rule


def sent_for_user(*, user: User) -> QuerySet[FollowUpSent]:
    """Follow-ups sent, to the leads the user may see."""
    if not user.has_perm("marketing.view"):
        return FollowUpSent.objects.none()
    return (
        FollowUpSent.objects.filter(lead__in=lead_list_for_user(user=user).values("pk"))
        .select_related("lead", "offer", "rule")
        .order_by("-sent_at", "-pk")
    )


def downloads_for_user(*, user: User, offer: ContentOffer | None = None) -> QuerySet:
    """Download links handed out, to the leads and contacts the user may see."""
    if not user.has_perm("marketing.view"):
        return ContentDownload.objects.none()
    leads = lead_list_for_user(user=user).values("pk")
    parties = visible_records(Party.objects.filter(deleted_at__isnull=True), user=user).values("pk")
    qs = ContentDownload.objects.filter(Q(lead__in=leads) | Q(lead__isnull=True, party__in=parties))
    if offer is not None:
        qs = qs.filter(offer=offer)
    return qs.select_related("offer", "lead", "party").order_by("-created_at", "-pk")
