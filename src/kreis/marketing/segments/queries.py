"""Segments: who is in one, and the conditions a dynamic segment is built from.

A dynamic segment's ``conditions`` are ``{"field": …, "op": …, "value": …}`` rows over

- the party's own fields (kind, name, industry, size, source, territory, owner, team, tags,
  roles, created …),
- the party's custom fields (``custom.<key>``, typed as the ``CustomField`` says), and
- the computed figures the analytics keep on each party (ABC class, RFM, lifecycle phase, CLV,
  score and grade, probability alive, revenue of the last 12 months, last NPS and CSAT).

``match`` says whether all or any must hold. A static segment is its ``SegmentMember`` list.
Deleted parties (``deleted_at``) are never members. Everything here is one SQL query over the
party table (custom values through the JSON key lookups; numbers in JSON compared after a cast),
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import connections
from django.db.models import (
    DecimalField,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    TextField,
)
from django.db.models.fields.json import compile_json_path
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.core.models import CustomField, CustomFieldType, Team, User
from kreis.core.queries import visible_records
from kreis.marketing.models import Segment, SegmentKind, SegmentMember, SegmentSnapshot
from kreis.parties.models import (
    AbcClass,
    CompanySize,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    PartyRoleAssignment,
    RfmSegment,
)

# --- value types and their operators ------------------------------------------------------------

TEXT, CHOICE, NUMBER, DECIMAL, DATE, DATETIME, BOOLEAN = (
    "text",
    "choice",
    "number",
    "decimal",
    "date",
    "datetime",
    "boolean",
)
MULTI, USER, TEAM = "multi", "user", "team"

OPERATOR_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "contains": gettext_lazy("contains"),
    "gt": gettext_lazy("is greater than"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "between": gettext_lazy("is between"),
    "within_last_days": gettext_lazy("within the last … days"),
    "is_empty": gettext_lazy("is empty"),
    "not_empty": gettext_lazy("is not empty"),
}
# Dates read better with before/after.
DATE_OPERATOR_LABELS = {
    "gt": gettext_lazy("is after"),
    "gte": gettext_lazy("is on or after"),
    "lt": gettext_lazy("is before"),
    "lte": gettext_lazy("is on or before"),
}
EMPTINESS = ("is_empty", "not_empty")
OPERATORS = {
    TEXT: ("eq", "ne", "contains", "in", *EMPTINESS),
    CHOICE: ("eq", "ne", "in", *EMPTINESS),
    NUMBER: ("eq", "ne", "gt", "gte", "lt", "lte", "between", *EMPTINESS),
    DECIMAL: ("eq", "ne", "gt", "gte", "lt", "lte", "between", *EMPTINESS),
    DATE: ("eq", "gt", "gte", "lt", "lte", "between", "within_last_days", *EMPTINESS),
    DATETIME: ("gt", "gte", "lt", "lte", "between", "within_last_days", *EMPTINESS),
    BOOLEAN: ("eq", *EMPTINESS),
    MULTI: ("contains", "in", *EMPTINESS),
    USER: ("eq", "ne", "in", *EMPTINESS),
    TEAM: ("eq", "ne", "in", *EMPTINESS),
}
MAX_CONDITIONS = 30
MAX_LIST = 200

GROUP_FIELDS = "fields"
GROUP_CUSTOM = "custom"
GROUP_COMPUTED = "computed"
GROUP_LABELS = {
    GROUP_FIELDS: gettext_lazy("Fields"),
    GROUP_CUSTOM: gettext_lazy("Custom fields"),
    GROUP_COMPUTED: gettext_lazy("Computed figures"),
}


@dataclass(frozen=True)
class ConditionField:
    """One field a condition can test: its key in ``conditions``, label, type and group."""

    key: str
    label: Any
    type: str
    group: str
    choices: tuple[tuple[str, Any], ...] = ()
    # The model field (own and computed fields) or the custom field's key (custom fields).
    column: str = ""
    custom_type: str = ""
    bounds: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS[self.type]

    def operator_label(self, op: str) -> str:
        if self.type in (DATE, DATETIME) and op in DATE_OPERATOR_LABELS:
            return str(DATE_OPERATOR_LABELS[op])
        return str(OPERATOR_LABELS[op])


def _scores(label) -> dict:
    return {"type": NUMBER, "bounds": (1, 5), "label": label}


# The party's own fields: key → (label, type, choices).
PARTY_FIELDS: tuple[ConditionField, ...] = (
    ConditionField("kind", gettext_lazy("Kind"), CHOICE, GROUP_FIELDS, tuple(PartyKind.choices)),
    ConditionField("name", gettext_lazy("Name"), TEXT, GROUP_FIELDS),
    ConditionField("role", gettext_lazy("Role"), MULTI, GROUP_FIELDS, tuple(PartyRole.choices)),
    ConditionField("industry", gettext_lazy("Industry"), TEXT, GROUP_FIELDS),
    ConditionField("size", gettext_lazy("Size"), CHOICE, GROUP_FIELDS, tuple(CompanySize.choices)),
    ConditionField("source", gettext_lazy("Source"), TEXT, GROUP_FIELDS),
    ConditionField("territory", gettext_lazy("Territory"), TEXT, GROUP_FIELDS),
    ConditionField("owner", gettext_lazy("Owner"), USER, GROUP_FIELDS, column="owner_id"),
    ConditionField("team", gettext_lazy("Team"), TEAM, GROUP_FIELDS, column="team_id"),
    ConditionField("tags", gettext_lazy("Tags"), MULTI, GROUP_FIELDS),
    ConditionField(
        "purchasing_potential", gettext_lazy("Purchasing potential"), DECIMAL, GROUP_FIELDS
    ),
    ConditionField(
        "termination_announced", gettext_lazy("Termination announced"), BOOLEAN, GROUP_FIELDS
    ),
    ConditionField("contract_end", gettext_lazy("Contract end"), DATE, GROUP_FIELDS),
    ConditionField("created_at", gettext_lazy("Created"), DATETIME, GROUP_FIELDS),
    ConditionField("updated_at", gettext_lazy("Last changed"), DATETIME, GROUP_FIELDS),
)

COMPUTED_FIELDS: tuple[ConditionField, ...] = (
    ConditionField(
        "abc_class", gettext_lazy("ABC class"), CHOICE, GROUP_COMPUTED, tuple(AbcClass.choices)
    ),
    ConditionField(
        "rfm_segment",
        gettext_lazy("RFM segment"),
        CHOICE,
        GROUP_COMPUTED,
        tuple(RfmSegment.choices),
    ),
    ConditionField(
        "rfm_recency", gettext_lazy("RFM recency score"), NUMBER, GROUP_COMPUTED, bounds=(1, 5)
    ),
    ConditionField(
        "rfm_frequency", gettext_lazy("RFM frequency score"), NUMBER, GROUP_COMPUTED, bounds=(1, 5)
    ),
    ConditionField(
        "rfm_monetary", gettext_lazy("RFM monetary score"), NUMBER, GROUP_COMPUTED, bounds=(1, 5)
    ),
    ConditionField(
        "lifecycle_phase",
        gettext_lazy("Lifecycle phase"),
        CHOICE,
        GROUP_COMPUTED,
        tuple(LifecyclePhase.choices),
    ),
    ConditionField("clv", gettext_lazy("Customer lifetime value (CLV)"), DECIMAL, GROUP_COMPUTED),
    ConditionField(
        "historical_value", gettext_lazy("Historical customer value"), DECIMAL, GROUP_COMPUTED
    ),
    ConditionField("revenue_12m", gettext_lazy("Revenue, last 12 months"), DECIMAL, GROUP_COMPUTED),
    ConditionField("score", gettext_lazy("Score"), NUMBER, GROUP_COMPUTED),
    ConditionField("grade", gettext_lazy("Grade"), TEXT, GROUP_COMPUTED),
    ConditionField(
        "p_alive", gettext_lazy("Probability alive (0–1)"), NUMBER, GROUP_COMPUTED, bounds=(0, 1)
    ),
    ConditionField(
        "last_nps", gettext_lazy("Last NPS answer (0–10)"), NUMBER, GROUP_COMPUTED, bounds=(0, 10)
    ),
    ConditionField("last_csat", gettext_lazy("Last CSAT"), NUMBER, GROUP_COMPUTED),
    ConditionField("last_loyalty", gettext_lazy("Last loyalty index"), NUMBER, GROUP_COMPUTED),
    ConditionField(
        "last_survey_answered_at", gettext_lazy("Last survey answer"), DATETIME, GROUP_COMPUTED
    ),
)

CUSTOM_TYPES = {
    CustomFieldType.TEXT: TEXT,
    CustomFieldType.URL: TEXT,
    CustomFieldType.NUMBER: NUMBER,
    CustomFieldType.MONEY: DECIMAL,
    CustomFieldType.DATE: DATE,
    CustomFieldType.BOOLEAN: BOOLEAN,
    CustomFieldType.CHOICE: CHOICE,
    CustomFieldType.MULTI_CHOICE: MULTI,
}
CUSTOM_PREFIX = "custom."


def _custom_field(cf: CustomField) -> ConditionField:
    choices = tuple((c, c) for c in cf.choices or ())
    return ConditionField(
        CUSTOM_PREFIX + cf.key,
        cf.label,
        CUSTOM_TYPES.get(cf.type, TEXT),
        GROUP_CUSTOM,
        choices,
        column=cf.key,
        custom_type=cf.type,
    )


def condition_fields() -> list[ConditionField]:
    """Every field a condition can test: own fields, the active custom fields of parties, the
    computed figures (in that order, which is also the grouping of the builder's select)."""
    custom = CustomField.objects.filter(entity="party", is_active=True)
    return [*PARTY_FIELDS, *(_custom_field(cf) for cf in custom), *COMPUTED_FIELDS]


def fields_by_key(fields: Iterable[ConditionField] | None = None) -> dict[str, ConditionField]:
    return {f.key: f for f in (condition_fields() if fields is None else fields)}


# --- validating conditions ----------------------------------------------------------------------


class ConditionError(ValueError):
    """A condition that cannot be used; the message says why."""


def _list_of(value: Any) -> list:
    if isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, str):
        items = [part for part in (p.strip() for p in value.split(",")) if part]
    else:
        items = [value]
    if not items:
        raise ConditionError(_("Enter at least one value."))
    if len(items) > MAX_LIST:
        raise ConditionError(_("At most %(n)d values.") % {"n": MAX_LIST})
    return items


def _number(spec: ConditionField, raw: Any) -> Any:
    if isinstance(raw, bool) or raw is None:
        raise ConditionError(_("Enter a number."))
    try:
        number = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ConditionError(_("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ConditionError(_("Enter a number."))
    if spec.bounds and not spec.bounds[0] <= number <= spec.bounds[1]:
        low, high = spec.bounds
        raise ConditionError(
            _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
        )
    if spec.type == DECIMAL:
        return str(number)
    return int(number) if number == number.to_integral_value() else float(number)


def _date(raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    try:
        return dt.date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ConditionError(_("Enter a date as YYYY-MM-DD.")) from None


def _text(raw: Any) -> str:
    if raw is None or isinstance(raw, dict | list):
        raise ConditionError(_("Enter a text."))
    text = str(raw).strip()
    if not text:
        raise ConditionError(_("Enter a value."))
    if "\x00" in text or len(text) > 200:
        raise ConditionError(_("Enter a text of at most 200 characters."))
    return text


def _choice(spec: ConditionField, raw: Any) -> str:
    text = _text(raw)
    if spec.choices and text not in {c for c, _label in spec.choices}:
        raise ConditionError(
            _("“%(value)s” is not an option; choose one of: %(options)s.")
            % {"value": text, "options": ", ".join(c for c, _label in spec.choices)}
        )
    return text


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "ja", "on"}:
        return True
    if text in {"0", "false", "no", "nein", "off"}:
        return False
    raise ConditionError(_("Enter yes or no."))


def _record_id(spec: ConditionField, raw: Any) -> int:
    try:
        pk = int(str(raw).strip())
    except (TypeError, ValueError):
        pk = 0
    model = User if spec.type == USER else Team
    if pk <= 0 or not model.objects.filter(pk=pk).exists():
        if spec.type == USER:
            raise ConditionError(_("There is no user with the ID “%s”.") % raw)
        raise ConditionError(_("There is no team with the ID “%s”.") % raw)
    return pk


def _one_value(spec: ConditionField, raw: Any) -> Any:
    """A single value of the field's type in its stored (JSON) form."""
    if spec.type in (NUMBER, DECIMAL):
        return _number(spec, raw)
    if spec.type in (DATE, DATETIME):
        return _date(raw)
    if spec.type == BOOLEAN:
        return _boolean(raw)
    if spec.type in (USER, TEAM):
        return _record_id(spec, raw)
    if spec.type in (CHOICE, MULTI) and spec.choices:
        return _choice(spec, raw)
    return _text(raw)


def clean_condition(spec: ConditionField, op: Any, value: Any) -> dict:
    """One condition checked and normalised; raises ``ConditionError`` saying what is wrong."""
    if op not in spec.operators:
        raise ConditionError(
            _("“%(op)s” does not apply to %(field)s; use one of: %(ops)s.")
            % {"op": op, "field": spec.label, "ops": ", ".join(spec.operators)}
        )
    if op in EMPTINESS:
        return {"field": spec.key, "op": op, "value": None}
    if op == "within_last_days":
        try:
            days = int(str(value).strip())
        except (TypeError, ValueError):
            days = -1
        if not 1 <= days <= 36500:
            raise ConditionError(_("Enter a number of days from 1 to 36500."))
        return {"field": spec.key, "op": op, "value": days}
    if op == "between":
        items = _list_of(value)
        if len(items) != 2:
            raise ConditionError(_("Enter two values: from and to."))
        low, high = (_one_value(spec, v) for v in items)
        if (Decimal(low) if spec.type == DECIMAL else low) > (
            Decimal(high) if spec.type == DECIMAL else high
        ):
            raise ConditionError(_("The first value must not be greater than the second."))
        return {"field": spec.key, "op": op, "value": [low, high]}
    if op == "in":
        values = [_one_value(spec, v) for v in _list_of(value)]
        return {"field": spec.key, "op": op, "value": list(dict.fromkeys(values))}
    if isinstance(value, list | tuple):
        raise ConditionError(_("Enter one value, not a list."))
    return {"field": spec.key, "op": op, "value": _one_value(spec, value)}


def clean_conditions(
    conditions: Any, *, fields: dict[str, ConditionField] | None = None
) -> list[dict]:
    """The conditions checked and normalised. Raises ``ValidationError`` with one message per
    wrong condition, keyed ``conditions`` (“Condition 2: …”)."""
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise ValidationError({"conditions": [_("Conditions must be a list.")]})
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationError(
            {"conditions": [_("At most %(n)d conditions.") % {"n": MAX_CONDITIONS}]}
        )
    fields = fields_by_key() if fields is None else fields
    cleaned, errors = [], []
    for n, condition in enumerate(conditions, start=1):
        try:
            if not isinstance(condition, dict):
                raise ConditionError(_("A condition has a field, an operator and a value."))
            spec = fields.get(str(condition.get("field", "")))
            if spec is None:
                raise ConditionError(
                    _("There is no field “%s” to filter on.") % condition.get("field", "")
                )
            cleaned.append(clean_condition(spec, condition.get("op"), condition.get("value")))
        except ConditionError as exc:
            errors.append(_("Condition %(n)d: %(message)s") % {"n": n, "message": exc.args[0]})
    if errors:
        raise ValidationError({"conditions": errors})
    return cleaned


# --- conditions as SQL --------------------------------------------------------------------------


def _days_ago(spec: ConditionField, days: int):
    now = timezone.now()
    if spec.type == DATETIME:
        return now - dt.timedelta(days=days)
    return (timezone.localdate(now) - dt.timedelta(days=days)).isoformat()


def _datetime_bound(day: str, *, end: bool) -> dt.datetime:
    """A date on a timestamp: from the day's start (or up to its end), local time."""
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.max if end else dt.time.min)
    return timezone.make_aware(moment)


def _compare(column: str, op: str, value: Any, spec: ConditionField) -> Q:
    """eq … between on a plain column (or an annotation): numbers, dates, times."""
    if spec.type == DATETIME:
        if op in ("gt", "lte"):
            value = _datetime_bound(value, end=True)
        elif op in ("gte", "lt"):
            value = _datetime_bound(value, end=False)
        elif op == "between":
            value = [_datetime_bound(value[0], end=False), _datetime_bound(value[1], end=True)]
    if op == "eq":
        return Q(**{column: value})
    if op == "ne":
        return ~Q(**{column: value}) | Q(**{f"{column}__isnull": True})
    if op == "between":
        return Q(**{f"{column}__gte": value[0], f"{column}__lte": value[1]})
    if op == "within_last_days":
        return Q(**{f"{column}__gte": _days_ago(spec, value)})
    return Q(**{f"{column}__{op}": value})


def _text_q(column: str, op: str, value: Any, *, exact: bool) -> Q:
    """Text and choice columns (``exact``: choices compare exactly, text ignores case)."""
    eq = "exact" if exact else "iexact"
    if op == "eq":
        return Q(**{f"{column}__{eq}": value})
    if op == "ne":
        return ~Q(**{f"{column}__{eq}": value}) | Q(**{f"{column}__isnull": True})
    if op == "contains":
        return Q(**{f"{column}__icontains": value})
    if op == "in":
        if exact:
            return Q(**{f"{column}__in": value})
        q = Q()
        for item in value:
            q |= Q(**{f"{column}__iexact": item})
        return q
    if op == "is_empty":
        return Q(**{f"{column}__isnull": True}) | Q(**{column: ""})
    return Q(**{f"{column}__isnull": False}) & ~Q(**{column: ""})


def _multi_q(spec: ConditionField, op: str, value: Any) -> Q:
    """Tags and roles (related rows) or a custom multiple choice (a JSON list)."""
    if spec.key == "tags":
        through = Party.tags.through.objects.filter(party_id=OuterRef("pk"))
        if op in EMPTINESS:
            q = Q(Exists(through))
            return ~q if op == "is_empty" else q
        names = [value] if op == "contains" else value
        match = Q()
        for name in names:
            match |= Q(tag__name__iexact=name)
        return Q(Exists(through.filter(match)))
    if spec.key == "role":
        roles = PartyRoleAssignment.objects.filter(party_id=OuterRef("pk"))
        if op in EMPTINESS:
            q = Q(Exists(roles))
            return ~q if op == "is_empty" else q
        return Q(Exists(roles.filter(role__in=[value] if op == "contains" else value)))
    lookup = f"custom__{spec.column}"
    if op == "is_empty":
        return Q(**{f"{lookup}__isnull": True})
    if op == "not_empty":
        return Q(**{f"{lookup}__isnull": False})
    q = Q()
    # The stored list's JSON text holds each chosen option in quotes (as the list filter reads).
    for option in [value] if op == "contains" else value:
        q |= Q(**{f"{lookup}__icontains": f'"{option}"'})
    return q


class CustomText(Func):
    """A custom field's value as plain text, read with one JSON lookup: ``custom ->> 'key'``
    on PostgreSQL, ``JSON_EXTRACT(custom, '$."key"')`` on SQLite. Django's key transforms
    wrap SQLite's in a CASE of two more JSON lookups (to tell JSON null from true and false,
    which custom values never are), which made a count over 100,000 parties 3× slower."""

    output_field = TextField()

    def __init__(self, key: str):
        super().__init__(F("custom"))
        self.key = key

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({column} ->> %s)", (*params, self.key)
        return f"JSON_EXTRACT({column}, %s)", (*params, compile_json_path([self.key]))


def _custom_q(spec: ConditionField, op: str, value: Any) -> tuple[Q, dict]:
    """A custom field's condition and the annotations it needs (numbers cast from JSON)."""
    key = spec.column
    lookup = f"custom__{key}"
    if spec.type == MULTI:
        return _multi_q(spec, op, value), {}
    if op == "is_empty":
        return Q(**{f"{lookup}__isnull": True}), {}
    if op == "not_empty":
        return Q(**{f"{lookup}__isnull": False}), {}
    if spec.type in (NUMBER, DECIMAL):
        # JSON values compare as JSON on PostgreSQL and as whatever JSON_EXTRACT gives on
        # SQLite; cast the key's text to a number so both compare numerically (money is kept
        # as a decimal string).
        alias = f"_seg_{key}"
        output = (
            DecimalField(max_digits=16, decimal_places=2) if spec.type == DECIMAL else FloatField()
        )
        annotation = {alias: Cast(CustomText(key), output)}
        if spec.type == DECIMAL:
            value = [Decimal(v) for v in value] if isinstance(value, list) else Decimal(value)
        return _compare(alias, op, value, spec), annotation
    if spec.type == BOOLEAN:
        return Q(**{lookup: value}), {}
    alias = f"_seg_{key}"
    annotation = {alias: CustomText(key)}
    if spec.type == DATE:
        # ISO dates as text compare in calendar order.
        return _compare(alias, op, value, spec), annotation
    return _text_q(alias, op, value, exact=spec.type == CHOICE), annotation


def condition_q(condition: dict, spec: ConditionField) -> tuple[Q, dict]:
    """One cleaned condition as a ``Q`` (and the annotations it refers to)."""
    op, value = condition["op"], condition.get("value")
    if spec.group == GROUP_CUSTOM:
        return _custom_q(spec, op, value)
    if spec.type == MULTI:
        return _multi_q(spec, op, value), {}
    column = spec.column or spec.key
    if spec.type in (TEXT, CHOICE):
        return _text_q(column, op, value, exact=spec.type == CHOICE), {}
    if op == "is_empty":
        return Q(**{f"{column}__isnull": True}), {}
    if op == "not_empty":
        return Q(**{f"{column}__isnull": False}), {}
    if spec.type in (USER, TEAM):
        if op == "in":
            return Q(**{f"{column}__in": value}), {}
        return _compare(column, op, value, spec), {}
    if spec.type == BOOLEAN:
        return Q(**{column: value}), {}
    if spec.type == DECIMAL:
        value = [Decimal(v) for v in value] if isinstance(value, list) else Decimal(value)
    return _compare(column, op, value, spec), {}


def conditions_q(
    conditions: list[dict], match: str = "all", *, fields: dict[str, ConditionField] | None = None
) -> tuple[Q, dict]:
    """All (or any) of the conditions as one ``Q``; conditions on fields that no longer exist
    (a custom field deactivated since) match nobody rather than everybody."""
    fields = fields_by_key() if fields is None else fields
    combined, annotations = Q(), {}
    for condition in conditions:
        spec = fields.get(condition.get("field", ""))
        if spec is None:
            q = Q(pk__in=[])
        else:
            q, extra = condition_q(condition, spec)
            annotations.update(extra)
        combined = (combined | q) if match == "any" and combined else (combined & q)
    return combined, annotations


def parties_matching(
    conditions: list[dict], match: str = "all", *, fields: dict[str, ConditionField] | None = None
) -> QuerySet[Party]:
    """The live parties meeting the conditions (no conditions: every live party)."""
    qs = Party.objects.filter(deleted_at__isnull=True)
    if not conditions:
        return qs
    q, annotations = conditions_q(conditions, match, fields=fields)
    if annotations:
        qs = qs.alias(**annotations)
    return qs.filter(q)


# --- members ------------------------------------------------------------------------------------


def segment_parties(segment: Segment, user: User | None = None) -> QuerySet[Party]:
    """The segment's live members: the parties meeting its conditions (dynamic) or on its list
    (static), never deleted ones. With ``user``: only the parties that user may see."""
    if segment.kind == SegmentKind.STATIC:
        listed = SegmentMember.objects.filter(segment_id=segment.pk).values("party_id")
        qs = Party.objects.filter(deleted_at__isnull=True, pk__in=listed)
    else:
        qs = parties_matching(segment.conditions or [], segment.match)
    if user is not None:
        qs = visible_records(qs, user=user)
    return qs


def count_members(segment: Segment) -> int:
    """The live number of members (everybody's, not one user's view)."""
    qs = segment_parties(segment)
    if segment.kind == SegmentKind.DYNAMIC and connections[qs.db].vendor == "sqlite":
        return _count_in_one_pass(qs)
    return qs.count()


def _count_in_one_pass(qs: QuerySet[Party]) -> int:
    """SQLite: count by reading the party table once, in its order. Its planner walks an index
    such as (deleted_at, clv) for “clv ≥ 20,000” and then fetches each of those rows from the
    table one by one — 15,000 random reads of wide rows took 5× as long as one pass over all
    100,000 (benchmarks/segments.py). One pass costs the same whatever the conditions, so a
    count stays far below 200 ms on 100,000 parties."""
    connection = connections[qs.db]
    try:
        sql, params = qs.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a condition no party can meet
        return 0
    table = connection.ops.quote_name(Party._meta.db_table)
    head = f"FROM {table} "
    if head not in sql:
        return qs.count()
    # The first FROM is the outer query's (the select list holds the id only).
    sql = sql.replace(head, f"FROM {table} NOT INDEXED ", 1)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS members", params)  # noqa: S608
        return cursor.fetchone()[0]


def party_in_segment(party: Party, segment: Segment) -> bool:
    """Whether the party is a member now (for automation conditions)."""
    if party.pk is None or party.deleted_at is not None:
        return False
    return segment_parties(segment).filter(pk=party.pk).exists()


# --- reading segments ---------------------------------------------------------------------------


def segment_list_for_user(*, user: User) -> QuerySet[Segment]:
    """The segments, for users who see lead management (``marketing.view``)."""
    if not user.has_perm("marketing.view"):
        return Segment.objects.none()
    return Segment.objects.select_related("owner", "team").order_by("name", "pk")


def segment_get_for_user(*, user: User, pk: int, write: bool = False) -> Segment:
    """A segment the user may see (else ``Http404``), or change with ``write`` (else
    ``PermissionDenied``)."""
    segment = Segment.objects.select_related("owner", "team", "source_view").filter(pk=pk).first()
    if segment is None or not user.has_perm("marketing.view_record", segment):
        raise Http404
    if write and not user.has_perm("marketing.change_record", segment):
        raise PermissionDenied
    return segment


def snapshots(segment: Segment, *, days: int = 365) -> list[SegmentSnapshot]:
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(segment.snapshots.filter(day__gte=since).order_by("day"))


# --- conditions in words ------------------------------------------------------------------------


def _shown(spec: ConditionField, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_shown(spec, v) for v in value)
    if spec.type == USER:
        user = User.objects.filter(pk=value).first()
        return user.get_full_name() or user.username if user else _("(deleted user)")
    if spec.type == TEAM:
        team = Team.objects.filter(pk=value).first()
        return team.name if team else _("(deleted team)")
    if spec.type == BOOLEAN:
        return _("yes") if value else _("no")
    if spec.type in (DATE, DATETIME):
        return date_format(dt.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    if spec.type in (NUMBER, DECIMAL):
        return number_format(Decimal(str(value)), use_l10n=True, force_grouping=True)
    labels = dict(spec.choices)
    return f"“{labels.get(value, value)}”"


def describe_condition(condition: dict, fields: dict[str, ConditionField]) -> str:
    """A condition as a sentence part: “ABC class is one of “A”, “B””."""
    spec = fields.get(condition.get("field", ""))
    if spec is None:
        return _("%s (a field that no longer exists: matches nobody)") % condition.get("field")
    op, value = condition["op"], condition.get("value")
    if op in EMPTINESS:
        return f"{spec.label} {spec.operator_label(op)}"
    if op == "within_last_days":
        return _("%(field)s within the last %(days)d days") % {"field": spec.label, "days": value}
    if op == "between":
        return _("%(field)s is between %(low)s and %(high)s") % {
            "field": spec.label,
            "low": _shown(spec, value[0]),
            "high": _shown(spec, value[1]),
        }
    return f"{spec.label} {spec.operator_label(op)} {_shown(spec, value)}"


def describe_segment(
    segment: Segment, fields: dict[str, ConditionField] | None = None
) -> list[str]:
    fields = fields_by_key() if fields is None else fields
    return [describe_condition(c, fields) for c in segment.conditions or []]
