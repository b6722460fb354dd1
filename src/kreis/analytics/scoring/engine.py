"""Scoring engine (DOMAIN.md §7.4): weighted criteria → points → score 0–100 → grade.

Each criterion maps one field's value to points: numeric thresholds ``[[min, points], …]``
give the points of the highest minimum not above the value (below the first: 0); choice
thresholds ``{"value": points}`` give the points of that value. A missing value gives 0.

    score = 100 × Σ wᵢ · pointsᵢ / (Σ wᵢ × max_points)

and the grade is the label of the highest grade threshold not above the score. The same
engine scores customers, leads (fit + engagement, engagement decaying with a half-life),
suppliers and partners, and ranks the options of a utility-value analysis (Nutzwertanalyse).

Everything runs on whole columns: fields are read with ``values_list`` in keyset chunks,
counts with grouped queries, points with ``numpy.searchsorted`` — no query or Python loop
per record, so a million customers are scored in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.activities.models import Activity
from kreis.analytics import sqlarrow
from kreis.analytics.runs.models import AnalyticsSettings
from kreis.analytics.scoring.models import (
    PRIMARY_TARGETS,
    CriterionKind,
    ScoreRecord,
    ScoringModel,
    ScoringTarget,
)
from kreis.core.models import CustomField, CustomFieldType, User
from kreis.leads.models import Lead, LeadStatus
from kreis.leads.queries import lead_list_for_user
from kreis.marketing.predictive import services as predictive
from kreis.marketing.tracking import queries as tracking_queries
from kreis.parties.models import (
    AbcClass,
    CompanySize,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    RfmSegment,
)
from kreis.parties.queries import party_list_for_user
from kreis.sales.models import Deal, StageKind

# Engagement = Σ over a lead's activities of 0.5 ** (age in days / half-life): with the default
# half-life of 30 days (the setting ``engagement_half_life_days``) an activity today counts 1,
# one 30 days old 0.5, one 60 days old 0.25. Ages are whole days (the grouped query counts
# activities per lead and day).


def half_life_days() -> int:
    return AnalyticsSettings.load().engagement_half_life_days


CHUNK = 50_000  # rows per keyset query when reading a target's fields
RECORD_BATCH = 2000  # ids per UPDATE when older history rows stop being the latest
OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
YES, NO = "yes", "no"
OPTION_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,99}$")
MAX_CRITERIA = 50

ROLE_OF = {
    ScoringTarget.CUSTOMER: PartyRole.CUSTOMER,
    ScoringTarget.SUPPLIER: PartyRole.SUPPLIER,
    ScoringTarget.PARTNER: PartyRole.PARTNER,
}
SUBJECT_OF = {
    ScoringTarget.CUSTOMER: "party_id",
    ScoringTarget.SUPPLIER: "party_id",
    ScoringTarget.PARTNER: "party_id",
    ScoringTarget.LEAD: "lead_id",
    ScoringTarget.OPTION: "option_id",
}


# --- The field catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field a criterion can score: ``kind`` is numeric or choice."""

    key: str
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    group: str = ""


def _values(choices) -> tuple[str, ...]:
    return tuple(str(value) for value in choices.values)


def _party_fields() -> list[Field]:
    record, figures, counts = _("Record"), _("Computed figures"), _("Activity and deals")
    n = CriterionKind.NUMERIC
    c = CriterionKind.CHOICE
    return [
        Field("industry", _("Industry"), c, (), record),
        Field("size", _("Size"), c, _values(CompanySize), record),
        Field("territory", _("Territory"), c, (), record),
        Field("source", _("Source"), c, (), record),
        Field("kind", _("Kind"), c, _values(PartyKind), record),
        Field("purchasing_potential", _("Purchasing potential per year"), n, (), record),
        Field("revenue_12m", _("Revenue, last 12 months"), n, (), figures),
        Field("historical_value", _("Historical value"), n, (), figures),
        Field("clv", _("Customer lifetime value"), n, (), figures),
        Field("p_alive", _("Probability alive"), n, (), figures),
        Field("expected_purchases", _("Expected purchases"), n, (), figures),
        Field("rfm_recency", _("RFM recency score"), n, (), figures),
        Field("rfm_frequency", _("RFM frequency score"), n, (), figures),
        Field("rfm_monetary", _("RFM monetary score"), n, (), figures),
        Field("rfm_segment", _("RFM segment"), c, _values(RfmSegment), figures),
        Field("abc_class", _("ABC class"), c, _values(AbcClass), figures),
        Field("lifecycle_phase", _("Lifecycle phase"), c, _values(LifecyclePhase), figures),
        Field("share_of_wallet", _("Share of wallet (revenue ÷ potential)"), n, (), figures),
        Field("open_deals", _("Open deals"), n, (), counts),
        Field("won_deals_12m", _("Deals won, last 12 months"), n, (), counts),
        Field("activities_90d", _("Activities, last 90 days"), n, (), counts),
    ]


def _lead_fields() -> list[Field]:
    fit, engagement = _("Fit"), _("Engagement")
    n, c = CriterionKind.NUMERIC, CriterionKind.CHOICE
    return [
        Field("status", _("Status"), c, _values(LeadStatus), fit),
        Field("source", _("Source"), c, (), fit),
        Field("budget", _("Budget"), n, (), fit),
        Field("authority", _("Decision maker known"), c, (YES, NO), fit),
        Field("need", _("Need described"), c, (YES, NO), fit),
        Field("timeline_days", _("Days until the timeline"), n, (), fit),
        Field("company", _("Company given"), c, (YES, NO), fit),
        Field(
            "engagement",
            _("Engagement (activities, half-life %(days)d days)") % {"days": half_life_days()},
            n,
            (),
            engagement,
        ),
        Field("website_visits_30d", _("Website visits, last 30 days"), n, (), engagement),
        Field("pricing_visits_30d", _("Pricing page visits, last 30 days"), n, (), engagement),
    ]


def _custom_fields(entity: str) -> list[Field]:
    group = _("Custom fields")
    out = []
    for cf in CustomField.objects.filter(entity=entity, is_active=True):
        if cf.type in (CustomFieldType.NUMBER, CustomFieldType.MONEY):
            out.append(Field(f"custom.{cf.key}", cf.label, CriterionKind.NUMERIC, (), group))
        elif cf.type == CustomFieldType.CHOICE:
            out.append(
                Field(f"custom.{cf.key}", cf.label, CriterionKind.CHOICE, tuple(cf.choices), group)
            )
        elif cf.type == CustomFieldType.BOOLEAN:
            out.append(Field(f"custom.{cf.key}", cf.label, CriterionKind.CHOICE, (YES, NO), group))
    return out


def available_fields(target: str) -> list[Field]:
    """The fields a criterion of a model with this target may score.

    Options of a utility-value analysis have no catalogue: their criteria name their own keys.
    """
    if target == ScoringTarget.LEAD:
        return [*_lead_fields(), *_custom_fields("lead")]
    if target in ROLE_OF:
        return [*_party_fields(), *_custom_fields("party")]
    return []


def field_map(target: str) -> dict[str, Field]:
    return {f.key: f for f in available_fields(target)}


# --- Reading a target into a frame ------------------------------------------------------------


def target_queryset(target: str, *, user: User | None = None) -> QuerySet:
    """The records a model with this target scores (those ``user`` may see, if given):
    open leads, or live parties with the target's role."""
    if target not in ROLE_OF and target != ScoringTarget.LEAD:
        raise ValueError(target)
    if user is not None:
        if target == ScoringTarget.LEAD:
            qs = lead_list_for_user(user=user).filter(status__in=OPEN_LEAD_STATUSES)
        else:
            qs = party_list_for_user(user=user, role=ROLE_OF[target])
        return qs.order_by()
    if target == ScoringTarget.LEAD:
        return Lead.objects.filter(deleted_at__isnull=True, status__in=OPEN_LEAD_STATUSES)
    return Party.objects.filter(deleted_at__isnull=True, role_assignments__role=ROLE_OF[target])


def _arrow_type(qs: QuerySet, column: str) -> pa.DataType | None:
    """How a column is read in bulk: numbers as float64, text as string; None: not in bulk."""
    if column.startswith("_cf_"):
        return pa.string()
    try:
        internal = qs.model._meta.get_field(column).get_internal_type()
    except FieldDoesNotExist:
        return None
    if internal in {
        "DecimalField",
        "FloatField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "BigIntegerField",
    }:
        return pa.float64()
    if internal in {"CharField", "TextField"}:
        return pa.string()
    return None


def _read_all(qs: QuerySet, columns: Sequence[str]) -> pd.DataFrame | None:
    """Every row's ``id`` and ``columns`` in one query read as Arrow columns (a million
    customers in about a second; the ORM spends ~10 µs a row building Decimals and tuples).
    None when a column has no bulk type (dates, JSON): the caller reads through the ORM."""
    types = [_arrow_type(qs, column) for column in columns]
    if any(kind is None for kind in types):
        return None
    # Every column under an alias of our own, so the outer query can name it.
    aliases = {"_k0": F("pk"), **{f"_k{i}": F(c) for i, c in enumerate(columns, start=1)}}
    inner, params = qs.annotate(**aliases).values_list(*aliases).order_by().query.sql_with_params()
    selected = ["q._k0"]
    for i, kind in enumerate(types, start=1):
        target = "DOUBLE PRECISION" if kind == pa.float64() else "TEXT"
        selected.append(f"CAST(q._k{i} AS {target})")
    sql = f"SELECT {', '.join(selected)} FROM ({inner}) q"  # noqa: S608 — compiled by Django
    schema = pa.schema([("id", pa.int64()), *zip(columns, types, strict=True)])
    table = sqlarrow.read_table(sql, schema, list(params))
    return table.to_pandas().sort_values("id", kind="stable").reset_index(drop=True)


def _read(qs: QuerySet, columns: Sequence[str], *, limit: int | None = None) -> pd.DataFrame:
    """``id`` plus ``columns`` of every row: all at once as Arrow columns where every column
    allows, else in keyset chunks of CHUNK rows."""
    if limit is None:
        bulk = _read_all(qs, columns)
        if bulk is not None:
            return bulk
    frames = []
    last = 0
    remaining = limit
    while remaining is None or remaining > 0:
        size = CHUNK if remaining is None else min(CHUNK, remaining)
        rows = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", *columns)[:size])
        if rows:
            frames.append(pd.DataFrame.from_records(rows, columns=["id", *columns]))
        if len(rows) < size:
            break
        last = rows[-1][0]
        remaining = None if remaining is None else remaining - len(rows)
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in ["id", *columns]})
    return pd.concat(frames, ignore_index=True)


def _counted(qs: QuerySet, key: str) -> pd.Series:
    rows = qs.exclude(**{f"{key}__isnull": True}).values(key).annotate(n=Count("pk")).order_by()
    frame = pd.DataFrame.from_records(list(rows), columns=[key, "n"])
    return pd.Series(frame["n"].to_numpy(dtype="float64"), index=frame[key].to_numpy())


def _party_count(key: str, ids, now: dt.datetime) -> pd.Series:
    """Open deals, deals won in the last 12 months, or activities of the last 90 days per party.
    Deals count for their organisation, or for their contact when they have none."""
    if key == "activities_90d":
        qs = Activity.objects.filter(
            deleted_at__isnull=True,
            occurred_at__gt=now - dt.timedelta(days=90),
            occurred_at__lte=now,
        )
        if ids is not None:
            qs = qs.filter(party_id__in=ids)
        return _counted(qs, "party_id")
    deals = Deal.objects.filter(deleted_at__isnull=True)
    if key == "open_deals":
        deals = deals.filter(stage__kind=StageKind.OPEN)
    else:
        deals = deals.filter(stage__kind=StageKind.WON, closed_at__gte=now - dt.timedelta(days=365))
    by_org = deals.filter(organization_id__in=ids) if ids is not None else deals
    by_contact = deals.filter(organization__isnull=True)
    if ids is not None:
        by_contact = by_contact.filter(contact_id__in=ids)
    return _counted(by_org, "organization_id").add(_counted(by_contact, "contact_id"), fill_value=0)


def engagement(ids=None, *, now: dt.datetime | None = None) -> pd.Series:
    """Σ 0.5 ** (age_days / half-life) over each lead's past activities (by lead id), the
    half-life from the settings.

    One grouped query counts activities per lead and day; the decay is applied per day.
    """
    now = now or timezone.now()
    qs = Activity.objects.filter(
        deleted_at__isnull=True, lead_id__isnull=False, occurred_at__lte=now
    )
    if ids is not None:
        qs = qs.filter(lead_id__in=ids)
    rows = list(
        qs.annotate(day=TruncDate("occurred_at"))
        .values("lead_id", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if not rows:
        return pd.Series(dtype="float64")
    frame = pd.DataFrame.from_records(rows, columns=["lead_id", "day", "n"])
    today = np.datetime64(timezone.localdate(now), "D")
    days = pd.to_datetime(frame["day"]).to_numpy().astype("datetime64[D]")
    age = np.maximum((today - days).astype("int64"), 0)
    frame["w"] = frame["n"].to_numpy(dtype="float64") * np.power(0.5, age / half_life_days())
    return frame.groupby("lead_id")["w"].sum()


def _yes_no(values: pd.Series) -> np.ndarray:
    filled = values.astype("string").fillna("").str.strip() != ""
    return np.where(filled.to_numpy(dtype=bool), YES, NO)


def _custom_column(values: pd.Series, cf_type: str | None) -> pd.Series:
    if cf_type == CustomFieldType.BOOLEAN:
        text = values.astype("string").str.strip().str.casefold()
        out = pd.Series(None, index=values.index, dtype="object")
        out[text.isin(["true", "1"]).fillna(False).to_numpy(dtype=bool)] = YES
        out[text.isin(["false", "0"]).fillna(False).to_numpy(dtype=bool)] = NO
        return out
    if cf_type in (CustomFieldType.NUMBER, CustomFieldType.MONEY):
        # PostgreSQL hands JSON values over as text: numbers become numbers on every backend.
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers.map(lambda v: None if pd.isna(v) else (int(v) if v == int(v) else v))
    return values


# Columns a derived field is computed from.
DERIVED = {
    "share_of_wallet": ("revenue_12m", "purchasing_potential"),
    "timeline_days": ("timeline",),
    "authority": ("authority",),
    "need": ("need",),
    "company": ("company",),
}
PARTY_COUNTS = ("open_deals", "won_deals_12m", "activities_90d")
# Lead management's website tracking: page visits per lead in the last 30 days (to pricing
# pages only: paths containing one of kreis.marketing.tracking.queries.PRICING_PATHS).
VISIT_COUNTS = {"website_visits_30d": (), "pricing_visits_30d": tracking_queries.PRICING_PATHS}


def load_frame(
    target: str,
    fields: Iterable[str],
    *,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
    names: bool = False,
    queryset: QuerySet | None = None,
    extra: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """The target's records with the requested fields as columns (plus ``id``, and ``name``
    with ``names``). Only the needed columns are read; counts come from grouped queries.

    ``ids`` restricts to those records, ``limit`` to the first records by id, ``queryset``
    replaces the target's default records (e.g. those a user may see); ``extra`` columns of
    the model are read as they are.
    """
    now = now or timezone.now()
    fields = list(dict.fromkeys(fields))
    catalogue = field_map(target)
    unknown = [key for key in fields if key not in catalogue]
    if unknown:
        raise ValueError(f"unknown fields for {target}: {unknown}")
    custom_types = {
        f"custom.{cf.key}": cf.type
        for cf in CustomField.objects.filter(entity="lead" if target == "lead" else "party")
    }
    qs = queryset if queryset is not None else target_queryset(target)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    counted = set(PARTY_COUNTS) | set(VISIT_COUNTS) | {"engagement"}
    columns: list[str] = []
    annotations = {}
    for key in fields:
        if key in counted:
            continue
        if key.startswith("custom."):
            name = "_cf_" + key.removeprefix("custom.")
            annotations[name] = KeyTextTransform(key.removeprefix("custom."), "custom")
            columns.append(name)
        else:
            columns.extend(DERIVED.get(key, (key,)))
    if names:
        columns.extend(("first_name", "last_name", "company") if target == "lead" else ("name",))
    columns.extend(extra)
    columns = list(dict.fromkeys(columns))
    raw = _read(qs.annotate(**annotations) if annotations else qs, columns, limit=limit)

    frame = pd.DataFrame({"id": raw["id"].astype("int64")})
    selected = frame["id"].to_numpy() if (ids is not None or limit is not None) else None
    for key in fields:
        if key.startswith("custom."):
            column = raw["_cf_" + key.removeprefix("custom.")]
            frame[key] = _custom_column(column, custom_types.get(key))
        elif key == "share_of_wallet":
            revenue = pd.to_numeric(raw["revenue_12m"], errors="coerce")
            potential = pd.to_numeric(raw["purchasing_potential"], errors="coerce")
            frame[key] = (revenue / potential.where(potential > 0)).to_numpy()
        elif key == "timeline_days":
            timeline = pd.to_datetime(raw["timeline"]).to_numpy().astype("datetime64[D]")
            today = np.datetime64(timezone.localdate(now), "D")
            days = timeline - today
            frame[key] = np.where(np.isnat(days), np.nan, days.astype("int64")).astype("float64")
        elif key in ("authority", "need", "company"):
            frame[key] = _yes_no(raw[key])
        elif key in PARTY_COUNTS:
            counts = _party_count(key, selected, now)
            frame[key] = frame["id"].map(counts).fillna(0).to_numpy()
        elif key == "engagement":
            frame[key] = frame["id"].map(engagement(selected, now=now)).fillna(0).to_numpy()
        elif key in VISIT_COUNTS:
            counts = tracking_queries.visit_counts(
                lead_ids=selected,
                since=now - dt.timedelta(days=30),
                path_contains=VISIT_COUNTS[key],
            )
            frame[key] = frame["id"].map(counts).fillna(0).to_numpy(dtype="float64")
        else:
            frame[key] = raw[key].to_numpy()
    if names:
        if target == "lead":
            person = (
                raw["first_name"].astype("string").fillna("")
                + " "
                + raw["last_name"].astype("string").fillna("")
            ).str.strip()
            company = raw["company"].astype("string").fillna("")
            frame["name"] = person.where(company == "", person + " (" + company + ")").to_numpy()
        else:
            frame["name"] = raw["name"].to_numpy()
    for name in extra:
        frame[name] = raw[name].to_numpy()
    return frame


def option_frame(model: ScoringModel, fields: Iterable[str]) -> pd.DataFrame:
    """The options of a utility-value analysis with their values, ``id`` and ``name``."""
    options = list(model.options.order_by("pk").values_list("pk", "name", "values"))
    frame = pd.DataFrame(
        {"id": [o[0] for o in options], "name": [o[1] for o in options]}, dtype="object"
    )
    for key in fields:
        frame[key] = pd.Series([(o[2] or {}).get(key) for o in options], dtype="object")
    return frame


# --- The engine -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionSpec:
    id: int | str
    field: str
    label: str
    weight: float
    kind: str
    thresholds: list | dict


@dataclass(frozen=True)
class Spec:
    """A scoring model as the engine needs it (saved or not)."""

    target: str
    max_points: float
    grades: list
    criteria: tuple[CriterionSpec, ...] = field(default_factory=tuple)
    model_id: int | None = None

    @property
    def fields(self) -> list[str]:
        return list(dict.fromkeys(c.field for c in self.criteria))


def spec_of(model: ScoringModel | Spec) -> Spec:
    if isinstance(model, Spec):
        return model
    criteria = tuple(
        CriterionSpec(c.pk, c.field, c.label, float(c.weight), c.kind, c.thresholds)
        for c in model.criteria.all()
    )
    return Spec(model.target, float(model.max_points), model.grades, criteria, model.pk)


def criterion_points(criterion: CriterionSpec, values: pd.Series) -> np.ndarray:
    """The points of each value: numeric thresholds by the highest minimum ≤ value (below the
    first, 0); choice by the value (case ignored); a missing or unknown value, 0."""
    if criterion.kind == CriterionKind.NUMERIC:
        x = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        pairs = sorted(criterion.thresholds, key=lambda pair: float(pair[0]))
        minimums = np.array([float(p[0]) for p in pairs], dtype="float64")
        points = np.array([float(p[1]) for p in pairs], dtype="float64")
        if not len(pairs):
            return np.zeros(len(x))
        index = np.searchsorted(minimums, x, side="right") - 1
        out = np.where(index >= 0, points[np.clip(index, 0, None)], 0.0)
        out[np.isnan(x)] = 0.0
        return out
    mapping = {str(k).strip().casefold(): float(v) for k, v in criterion.thresholds.items()}
    keys = pd.Series(values, dtype="object").astype("string").str.strip().str.casefold()
    return keys.map(mapping).astype("float64").fillna(0.0).to_numpy()


def grade_array(grades: list, scores: np.ndarray) -> np.ndarray:
    pairs = sorted(grades, key=lambda pair: float(pair[0]))
    thresholds = np.array([float(p[0]) for p in pairs], dtype="float64")
    labels = np.array([str(p[1]) for p in pairs] + [""], dtype="object")
    index = np.searchsorted(thresholds, scores, side="right") - 1
    return labels[np.where(index >= 0, index, len(pairs))]


def score_frame(model_or_spec: ScoringModel | Spec, frame: pd.DataFrame) -> pd.DataFrame:
    """Score every row of ``frame`` (one column per criterion field).

    Returns ``score`` (0–100, rounded to 2 places), ``grade`` and ``points_<criterion id>``
    per criterion, on the frame's index.
    """
    spec = spec_of(model_or_spec)
    out = pd.DataFrame(index=frame.index)
    weights = np.array([c.weight for c in spec.criteria], dtype="float64")
    total = np.zeros(len(frame))
    for criterion, weight in zip(spec.criteria, weights, strict=True):
        values = (
            frame[criterion.field]
            if criterion.field in frame
            else pd.Series([None] * len(frame), index=frame.index, dtype="object")
        )
        points = criterion_points(criterion, values)
        out[f"points_{criterion.id}"] = points
        total += weight * points
    denominator = weights.sum() * spec.max_points
    score = np.round(100 * total / denominator, 2) if denominator > 0 else np.zeros(len(frame))
    out["score"] = score
    out["grade"] = grade_array(spec.grades, score)
    return out


# --- Preview and ranking (nothing stored) -----------------------------------------------------


def preview(
    model: ScoringModel | Spec,
    n: int = 20,
    *,
    user: User | None = None,
    ids: Sequence[int] | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Score a random sample of ``n`` records (or ``ids``) without storing anything.

    Returns ``criteria``, ``rows`` (id, name, per criterion value and points, score, grade;
    best first), ``distribution`` [(grade, count)] and the sampled ``ids``. With ``user``,
    only records the user may see.
    """
    spec = spec_of(model)
    if spec.target == ScoringTarget.OPTION:
        frame = option_frame(ScoringModel.objects.get(pk=spec.model_id), spec.fields)
    else:
        qs = target_queryset(spec.target, user=user)
        if ids is None:
            ids = list(qs.order_by("?").values_list("pk", flat=True)[:n])
        frame = load_frame(spec.target, spec.fields, ids=ids, names=True, queryset=qs, now=now)
    result = score_frame(spec, frame)
    rows = []
    for position in np.argsort(-result["score"].to_numpy(), kind="stable"):
        rows.append(
            {
                "id": int(frame["id"].iat[position]),
                "name": str(frame["name"].iat[position]),
                "cells": [
                    {
                        "criterion": c,
                        "value": _shown(frame[c.field].iat[position] if c.field in frame else None),
                        "points": float(result[f"points_{c.id}"].iat[position]),
                    }
                    for c in spec.criteria
                ],
                "score": float(result["score"].iat[position]),
                "grade": str(result["grade"].iat[position]),
            }
        )
    counts = result["grade"].value_counts()
    distribution = [
        (label, int(counts.get(label, 0)))
        for _threshold, label in sorted(spec.grades, key=lambda pair: -float(pair[0]))
    ]
    return {
        "criteria": list(spec.criteria),
        "rows": rows,
        "distribution": distribution,
        "ids": [int(i) for i in frame["id"]],
    }


def _shown(value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def ranking(model: ScoringModel) -> dict:
    """A utility-value analysis: each option's weighted points per criterion (wᵢ · pointsᵢ),
    their sum, the score in % of the maximum, grade and rank (best first; ties share a rank).
    """
    spec = spec_of(model)
    frame = option_frame(model, spec.fields)
    result = score_frame(spec, frame)
    weighted = np.zeros(len(frame))
    for c in spec.criteria:
        weighted += c.weight * result[f"points_{c.id}"].to_numpy()
    ranks = pd.Series(result["score"].to_numpy()).rank(method="min", ascending=False)
    rows = []
    for position in np.argsort(-result["score"].to_numpy(), kind="stable"):
        rank = int(ranks.iat[position])
        rows.append(
            {
                "id": int(frame["id"].iat[position]),
                "name": str(frame["name"].iat[position]),
                "rank": rank,
                "is_winner": rank == 1,
                "cells": [
                    {
                        "criterion": c,
                        "value": _shown(frame[c.field].iat[position]),
                        "points": float(result[f"points_{c.id}"].iat[position]),
                        "weighted": round(
                            c.weight * float(result[f"points_{c.id}"].iat[position]), 4
                        ),
                    }
                    for c in spec.criteria
                ],
                "weighted_points": round(float(weighted[position]), 4),
                "score": float(result["score"].iat[position]),
                "grade": str(result["grade"].iat[position]),
            }
        )
    maximum = sum(c.weight for c in spec.criteria) * spec.max_points
    return {"criteria": list(spec.criteria), "rows": rows, "max_weighted_points": maximum}


# --- Applying a model (scores and history stored) ---------------------------------------------


def _update_scores(table_model, ids: np.ndarray, scores: np.ndarray, grades: np.ndarray) -> int:
    """Write score and grade of these records: stage them in a temporary table, one UPDATE."""
    if not len(ids):
        return 0
    table = connection.ops.quote_name(table_model._meta.db_table)
    rows = list(
        zip(
            ids.astype("int64").tolist(),
            scores.astype("float64").tolist(),
            grades.tolist(),
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS kreis_scores")
        cursor.execute(
            "CREATE TEMPORARY TABLE kreis_scores "
            "(id bigint PRIMARY KEY, score double precision, grade varchar(8))"
        )
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(
                "INSERT INTO kreis_scores VALUES (%s, %s, %s)", rows[start : start + CHUNK]
            )
        cursor.execute(
            f"UPDATE {table} SET score = s.score, grade = s.grade "  # noqa: S608
            f"FROM kreis_scores s WHERE {table}.id = s.id"
        )
        updated = cursor.rowcount
        cursor.execute("DROP TABLE kreis_scores")
    return updated


def _changed(result: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Rows of ``result`` (id, score, grade) whose score or grade differs from ``stored``."""
    merged = result[["id", "score", "grade"]].merge(
        stored.rename(columns={"score": "old_score", "grade": "old_grade"}),
        on="id",
        how="left",
    )
    old = pd.to_numeric(merged["old_score"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    new = merged["score"].to_numpy(dtype="float64")
    grade_differs = merged["grade"].astype("string").fillna("").to_numpy(dtype="object") != merged[
        "old_grade"
    ].astype("string").fillna("").to_numpy(dtype="object")
    return (np.isnan(old) | (np.abs(new - np.nan_to_num(old)) > 1e-9) | grade_differs).astype(bool)


def _insert_records(
    model: ScoringModel, subject: str, rows: pd.DataFrame, points_json: str, now
) -> None:
    """INSERT the new history rows with ``executemany`` (the ORM's bulk_create spends most of
    its time building a model instance per row)."""
    quote = connection.ops.quote_name
    columns = ["model_id", subject, "score", "grade", "points", "computed_at", "is_latest"]
    json_mark = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {quote(ScoreRecord._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(c) for c in columns)}) "
        f"VALUES (%s, %s, %s, %s, {json_mark}, %s, %s)"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    data = list(
        zip(
            [model.pk] * len(rows),
            rows["id"].astype("int64").tolist(),
            rows["score"].astype("float64").tolist(),
            rows["grade"].astype("object").tolist(),
            points_json.splitlines(),
            [stamp] * len(rows),
            [True] * len(rows),
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        for start in range(0, len(data), CHUNK):
            cursor.executemany(sql, data[start : start + CHUNK])


def _write_history(model: ScoringModel, result: pd.DataFrame, spec: Spec, now) -> int:
    """New ScoreRecord rows for the records whose score or grade changed since the latest."""
    subject = SUBJECT_OF[model.target]
    latest_qs = ScoreRecord.objects.filter(model=model, is_latest=True)
    latest = _read(latest_qs, [subject, "score", "grade"]).rename(
        columns={"id": "record_id", subject: "id"}
    )
    latest["id"] = latest["id"].astype("int64")
    changed = _changed(result, latest[["id", "score", "grade"]])
    if not changed.any():
        return 0
    rows = result.loc[changed]
    previous = rows[["id"]].merge(latest[["id", "record_id"]], on="id", how="inner")
    stale = previous["record_id"].astype("int64").tolist()
    for start in range(0, len(stale), RECORD_BATCH):
        ScoreRecord.objects.filter(pk__in=stale[start : start + RECORD_BATCH]).update(
            is_latest=False
        )
    # Points keyed by field, which outlives a criterion edited away.
    points = rows[[f"points_{c.id}" for c in spec.criteria]]
    points.columns = [c.field for c in spec.criteria]
    _insert_records(model, subject, rows, points.to_json(orient="records", lines=True), now)
    return int(changed.sum())


def apply_model(model: ScoringModel, *, now: dt.datetime | None = None) -> dict:
    """Score every record of the model's target and store the result in one transaction.

    History rows are written only for records whose score or grade changed. The primary
    customer model writes Party.score/grade (and clears them on parties that are no longer
    customers); the primary lead model writes Lead.score/grade/scored_at.
    Returns counts: scored, changed (history rows), written (records updated).
    """
    now = now or timezone.now()
    spec = spec_of(model)
    if not spec.criteria:
        raise ValidationError(_("The model has no criteria."))
    primary = model.is_primary and model.target in PRIMARY_TARGETS
    if model.target == ScoringTarget.OPTION:
        frame = option_frame(model, spec.fields)
    else:
        extra = ("score", "grade") if primary else ()
        frame = load_frame(model.target, spec.fields, extra=extra, now=now)
    result = score_frame(spec, frame)
    result["id"] = frame["id"].astype("int64").to_numpy()
    written = 0
    with transaction.atomic():
        changed = _write_history(model, result, spec, now)
        if primary:
            stored = pd.DataFrame(
                {"id": result["id"], "score": frame["score"], "grade": frame["grade"]}
            )
            differs = _changed(result, stored)
            target_model = Lead if model.target == ScoringTarget.LEAD else Party
            written = _update_scores(
                target_model,
                result["id"].to_numpy()[differs],
                result["score"].to_numpy()[differs],
                result["grade"].to_numpy(dtype="object")[differs],
            )
            if model.target == ScoringTarget.LEAD:
                target_queryset(model.target).update(scored_at=now)
            else:
                Party.objects.filter(score__isnull=False).exclude(
                    pk__in=target_queryset(model.target).values("pk")
                ).update(score=None, grade="")
        ScoringModel.objects.filter(pk=model.pk).update(applied_at=now)
    if primary and model.target == ScoringTarget.LEAD:
        # Lead management: open leads whose score now reaches the MQL threshold qualify.
        predictive.check_mql(now=now)
    return {"scored": len(result), "changed": changed, "written": written}


def score_leads_now(ids: Sequence[int], *, now: dt.datetime | None = None) -> int:
    """Score these open leads with the primary lead model right away (a web form changed
    them) and write Lead.score/grade/scored_at; their score history follows with the next
    run. Returns the number scored (0 without an active primary lead model)."""
    model = (
        ScoringModel.objects.filter(target=ScoringTarget.LEAD, is_primary=True, is_active=True)
        .prefetch_related("criteria")
        .first()
    )
    spec = spec_of(model) if model is not None else None
    if spec is None or not spec.criteria or not ids:
        return 0
    now = now or timezone.now()
    frame = load_frame(ScoringTarget.LEAD, spec.fields, ids=ids, now=now)
    result = score_frame(spec, frame)
    leads = [
        Lead(pk=int(pk), score=float(score), grade=str(grade), scored_at=now)
        for pk, score, grade in zip(frame["id"], result["score"], result["grade"], strict=True)
    ]
    Lead.objects.bulk_update(leads, ["score", "grade", "scored_at"])
    return len(leads)


def apply_active_models(now: dt.datetime | None = None) -> dict[str, int]:
    """Apply every active model (the nightly run calls this); scored records per model."""
    now = now or timezone.now()
    done = {}
    for model in ScoringModel.objects.filter(is_active=True).prefetch_related("criteria"):
        if model.criteria.all():
            done[f"{model.pk} {model.name}"] = apply_model(model, now=now)["scored"]
    return done
