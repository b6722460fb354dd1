"""Reads of web forms: the list with its submission counts, one form, its submissions."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.marketing.models import FormSubmission, LeadForm


def form_list_for_user(*, user: User) -> QuerySet[LeadForm]:
    """Every form (lead management is one area: whoever sees it sees all forms), with the
    number of submissions and the time of the last one."""
    if not user.has_perm("marketing.view"):
        raise PermissionDenied
    return annotate_counts(
        LeadForm.objects.select_related("campaign", "owner").order_by("name", "pk")
    )


def annotate_counts(forms: QuerySet[LeadForm]) -> QuerySet[LeadForm]:
    return forms.annotate(
        n_submissions=Count("submissions"), last_submission=Max("submissions__created_at")
    )


def form_get_for_user(*, user: User, pk: int, perm: str = "marketing.view_record") -> LeadForm:
    form = LeadForm.objects.select_related("campaign", "owner").filter(pk=pk).first()
    if form is None:
        raise Http404
    if not user.has_perm(perm, form):
        raise PermissionDenied
    return form


def form_by_key(key: str) -> LeadForm | None:
    return LeadForm.objects.select_related("campaign").filter(key=key).first()


def submissions(form: LeadForm, *, since: dt.datetime | None = None) -> QuerySet[FormSubmission]:
    qs = form.submissions.select_related("lead", "party", "campaign").order_by("-created_at", "-pk")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs


EXPORT_HEADER = [
    "sent",
    "outcome",
    "lead_id",
    "party_id",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "page_url",
    "referrer",
    "data",
]


def export_rows(form: LeadForm, *, since: dt.datetime | None = None):
    """The submissions as rows under ``EXPORT_HEADER`` (data as JSON), oldest first."""
    import json

    for s in submissions(form, since=since).order_by("created_at", "pk").iterator(chunk_size=1000):
        yield [
            s.created_at.isoformat(),
            s.outcome,
            s.lead_id or "",
            s.party_id or "",
            s.campaign.code if s.campaign else "",
            s.utm_source,
            s.utm_medium,
            s.utm_campaign,
            s.utm_term,
            s.utm_content,
            s.page_url,
            s.referrer,
            json.dumps(s.data, ensure_ascii=False, sort_keys=True),
        ]
