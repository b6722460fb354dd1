"""The features of the predictive lead score, read for many leads at once.

One row per lead, built from a handful of grouped queries (never a query per lead):

- *Source and campaign*: the lead's source (lower case), the code and channel of its
  first-touch campaign (``LeadAttribution``).
- *Firmographics*: whether a company is given, the seniority of the position (keywords such as
  "Geschäftsführer", "CEO", "Leiter", "Manager"), and industry and size of an organisation of
  the same name (case ignored) that Kreis knew **before** the lead came in. Organisations made
  later — e.g. by converting this very lead — are left out: they would tell the model the
  answer (only converted leads have one).
- *BANT*: budget (log scale; 0 when none), whether authority and need are filled in and
  whether a timeline is set.
- *Engagement*: the lead's activities, form submissions and content downloads.
- *Visits*: page visits, visits to pricing pages (path contains "pricing", "preise" or
  "price") and the distinct days with a visit.

For a decided lead (training) only what happened up to the day it was decided counts — the
conversion time, or the last change for a disqualified lead — so the calls made by sales after
a conversion do not leak into what the model learns from. Open leads count everything.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate, Upper
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import Activity
from kreis.marketing.models import (
    ContentDownload,
    FormSubmission,
    LeadAttribution,
    PageVisit,
)
from kreis.parties.models import Party, PartyKind

NONE = "(none)"
CATEGORICAL = ["source", "campaign", "channel", "seniority", "industry", "size"]
COUNTS = ["activities", "submissions", "downloads", "visits", "pricing_visits", "visit_days"]
FLAGS = ["has_company", "has_budget", "has_authority", "has_need", "has_timeline"]
NUMERIC = ["budget", *FLAGS, *COUNTS]
COLUMNS = [*CATEGORICAL, *NUMERIC]

# Readable names of the columns (German through the catalogue).
LABELS = {
    "source": _("Source"),
    "campaign": _("First-touch campaign"),
    "channel": _("Channel of the first campaign"),
    "seniority": _("Seniority of the position"),
    "industry": _("Industry (known organisation)"),
    "size": _("Company size (known organisation)"),
    "budget": _("Budget"),
    "has_company": _("Company given"),
    "has_budget": _("Budget given"),
    "has_authority": _("Decision maker known"),
    "has_need": _("Need described"),
    "has_timeline": _("Timeline set"),
    "activities": _("Activities"),
    "submissions": _("Form submissions"),
    "downloads": _("Downloads"),
    "visits": _("Page visits"),
    "pricing_visits": _("Pricing page visits"),
    "visit_days": _("Days with visits"),
}

PRICING = (
    Q(path__icontains="pricing")
    | Q(path__icontains="preise")
    | Q(path__icontains="price")
    | Q(path__icontains="preis")
)

SENIORITY = (
    (
        "executive",
        re.compile(
            r"\b(ceo|cfo|cto|coo|cio|vorstand|geschäftsführ\w*|inhaber\w*|owner|founder|gründer\w*"
            r"|president|präsident\w*|managing director|partner)\b"
        ),
    ),
    (
        "head",
        re.compile(r"\b(head|director|direktor\w*|vp|vice president|\w*leiter\w*|prokurist\w*)\b"),
    ),
    ("manager", re.compile(r"\b(\w*manager\w*|lead|teamlead\w*|referent\w*|einkäufer\w*)\b")),
)


def seniority(position: str) -> str:
    text = (position or "").strip().casefold()
    if not text:
        return NONE
    for name, pattern in SENIORITY:
        if pattern.search(text):
            return name
    return "other"


def _per_day(qs: QuerySet, lead_ids: QuerySet, at: str) -> pd.DataFrame:
    """Rows (lead_id, day, n): the records per lead and day."""
    rows = list(
        qs.filter(lead_id__in=lead_ids)
        .annotate(day=TruncDate(at))
        .values("lead_id", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    frame = pd.DataFrame.from_records(rows, columns=["lead_id", "day", "n"])
    frame["day"] = pd.to_datetime(frame["day"]).to_numpy().astype("datetime64[D]")
    return frame


def _count(per_day: pd.DataFrame, index: pd.Index, cutoff: pd.Series | None, *, days=False):
    """Per lead (``index``): the sum of ``n`` (or the number of days) up to its cutoff day."""
    frame = per_day
    if cutoff is not None and len(frame):
        limit = frame["lead_id"].map(cutoff).to_numpy().astype("datetime64[D]")
        keep = np.isnat(limit) | (frame["day"].to_numpy() <= limit)
        frame = frame[keep]
    if not len(frame):
        return np.zeros(len(index))
    grouped = frame.groupby("lead_id")["n"].count() if days else frame.groupby("lead_id")["n"].sum()
    return grouped.reindex(index).fillna(0).to_numpy(dtype="float64")


def _known_organisations(companies: pd.Series) -> pd.DataFrame:
    """Organisations by upper-case name (the oldest of a name): industry, size, created."""
    names = sorted({c for c in companies.dropna().unique() if c})
    rows = []
    for start in range(0, len(names), 500):
        rows.extend(
            Party.objects.filter(kind=PartyKind.ORGANIZATION, deleted_at__isnull=True)
            .annotate(key=Upper("name"))
            .filter(key__in=names[start : start + 500])
            .order_by("created_at", "pk")
            .values_list("key", "industry", "size", "created_at")
        )
    frame = pd.DataFrame.from_records(rows, columns=["key", "industry", "size", "created_at"])
    return frame.drop_duplicates("key", keep="first").set_index("key")


def _filled(field: str) -> Case:
    return Case(
        When(Q(**{field: ""}) | Q(**{f"{field}__isnull": True}), then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def lead_features(leads: QuerySet, *, decided: bool = False) -> pd.DataFrame:
    """The feature frame of these leads (index: lead id; columns ``COLUMNS`` plus ``status``).

    With ``decided``, events after each lead's decision day are left out (see above)."""
    rows = list(
        leads.order_by()
        .annotate(has_authority=_filled("authority"), has_need=_filled("need"))
        .values_list(
            "pk",
            "status",
            "source",
            "company",
            "position",
            "budget",
            "has_authority",
            "has_need",
            "timeline",
            "created_at",
            "converted_at",
            "updated_at",
        )
    )
    base = pd.DataFrame.from_records(
        rows,
        columns=[
            "id",
            "status",
            "source",
            "company",
            "position",
            "budget",
            "has_authority",
            "has_need",
            "timeline",
            "created_at",
            "converted_at",
            "updated_at",
        ],
    ).set_index("id")
    frame = pd.DataFrame(index=base.index)
    frame["status"] = base["status"]
    if not len(base):
        for column in COLUMNS:
            frame[column] = pd.Series(dtype="object" if column in CATEGORICAL else "float64")
        return frame
    source = base["source"].fillna("").astype(str).str.strip().str.casefold()
    frame["source"] = source.where(source != "", NONE)

    ids = leads.order_by().values("pk")
    attribution = pd.DataFrame.from_records(
        list(
            LeadAttribution.objects.filter(
                lead_id__in=ids, first_campaign__isnull=False
            ).values_list("lead_id", "first_campaign__code", "first_campaign__channel")
        ),
        columns=["lead_id", "code", "channel"],
    ).set_index("lead_id")
    frame["campaign"] = attribution["code"].reindex(frame.index).fillna(NONE).to_numpy()
    frame["channel"] = attribution["channel"].reindex(frame.index).fillna(NONE).to_numpy()
    frame["seniority"] = [seniority(p) for p in base["position"].fillna("")]

    company = base["company"].fillna("").astype(str).str.strip().str.upper()
    known = _known_organisations(company)
    created = pd.to_datetime(base["created_at"], utc=True)
    matched = company.map(known["created_at"]) if len(known) else pd.Series(None, index=base.index)
    before = pd.to_datetime(matched, utc=True) < created
    industry = company.map(known["industry"]) if len(known) else matched
    size = company.map(known["size"]) if len(known) else matched
    frame["industry"] = (
        industry.where(before).astype(object).fillna("").astype(str).str.strip().str.casefold()
    ).replace("", NONE)
    frame["size"] = size.where(before).astype(object).fillna("").astype(str).replace("", NONE)

    budget = pd.to_numeric(base["budget"], errors="coerce").astype("float64")
    frame["budget"] = np.log1p(budget.clip(lower=0).fillna(0.0))
    frame["has_company"] = (company != "").astype("float64")
    frame["has_budget"] = budget.notna().astype("float64") * (budget > 0).astype("float64")
    frame["has_authority"] = base["has_authority"].astype("float64")
    frame["has_need"] = base["has_need"].astype("float64")
    frame["has_timeline"] = base["timeline"].notna().astype("float64")

    cutoff = None
    if decided:
        converted = pd.to_datetime(base["converted_at"], utc=True).astype("datetime64[us, UTC]")
        changed = pd.to_datetime(base["updated_at"], utc=True).astype("datetime64[us, UTC]")
        decided_at = converted.where(converted.notna(), changed)
        cutoff = decided_at.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
        cutoff = pd.Series(cutoff, index=base.index)
    index = frame.index
    activities = _per_day(Activity.objects.filter(deleted_at__isnull=True), ids, "occurred_at")
    frame["activities"] = _count(activities, index, cutoff)
    frame["submissions"] = _count(
        _per_day(FormSubmission.objects, ids, "created_at"), index, cutoff
    )
    frame["downloads"] = _count(_per_day(ContentDownload.objects, ids, "created_at"), index, cutoff)
    visits = _per_day(PageVisit.objects, ids, "at")
    frame["visits"] = _count(visits, index, cutoff)
    frame["visit_days"] = _count(visits, index, cutoff, days=True)
    pricing = _per_day(PageVisit.objects.filter(PRICING), ids, "at")
    frame["pricing_visits"] = _count(pricing, index, cutoff)
    for column in COUNTS:
        frame[column] = np.log1p(frame[column].astype("float64"))
    return frame


def label_of(column: str) -> str:
    return str(LABELS.get(column, column))
