"""Changing segments: create, update, delete, static members, saved views turned into
segments, and the member count kept over time (``refresh_count``, nightly ``snapshot_all``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.customfields import FORM_PREFIX, custom_fields_for
from kreis.core.models import CustomFieldType, SavedView, User
from kreis.core.queries import visible_records
from kreis.marketing.models import Segment, SegmentKind, SegmentMember, SegmentSnapshot
from kreis.marketing.segments import queries
from kreis.parties.exports import CLV_RANGES, FIGURE_CHOICES, SURVEY_RANGES, list_params
from kreis.parties.models import Party, PartyKind, PartyRole
from kreis.parties.queries import party_list_for_user

SEGMENT_FIELDS = {"name", "description", "kind", "conditions", "match", "owner", "team"}
MAX_MEMBERS_AT_ONCE = 100_000


def _require(actor: User | None, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def _refuse_unknown(fields: dict) -> None:
    unknown = set(fields) - SEGMENT_FIELDS
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})


def _save(segment: Segment) -> Segment:
    if segment.kind == SegmentKind.STATIC:
        segment.conditions = []
    else:
        segment.conditions = queries.clean_conditions(segment.conditions)
    if segment.match not in ("all", "any"):
        raise ValidationError({"match": _("Match “all” or “any” conditions.")})
    segment.full_clean(exclude=["owner", "team", "source_view", "conditions"])
    segment.save()
    return segment


@transaction.atomic
def segment_create(*, actor: User | None, name: str, **fields: Any) -> Segment:
    """A new segment, owned by the actor; counted at once."""
    _require(actor, "marketing.add")
    _refuse_unknown(fields)
    fields.setdefault("owner", actor if actor is not None and actor.pk else None)
    segment = _save(Segment(name=name, **fields))
    refresh_count(segment)
    return segment


@transaction.atomic
def segment_update(*, actor: User | None, segment: Segment, **fields: Any) -> Segment:
    """Change a segment. A dynamic segment turned static keeps no conditions (its list starts
    empty unless it had one); a static one turned dynamic keeps its list for later."""
    _require(actor, "marketing.change_record", segment)
    _refuse_unknown(fields)
    for name, value in fields.items():
        setattr(segment, name, value)
    _save(segment)
    refresh_count(segment)
    return segment


@transaction.atomic
def segment_delete(*, actor: User | None, segment: Segment) -> None:
    _require(actor, "marketing.change_record", segment)
    try:
        with transaction.atomic():
            segment.delete()
    except ProtectedError as used:
        raise ValidationError(
            _("This segment cannot be deleted: mailings were sent to it (%(count)s).")
            % {"count": len(used.protected_objects)}
        ) from used


def _static(segment: Segment) -> None:
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError(
            {"kind": _("Only a static segment has a list of members; this one is dynamic.")}
        )


@transaction.atomic
def members_add(*, actor: User | None, segment: Segment, party_ids: Iterable[int]) -> int:
    """Put parties on a static segment's list: those of the ids the actor may see (deleted
    ones and those already on the list are skipped). Returns how many were added."""
    _require(actor, "marketing.change_record", segment)
    _static(segment)
    ids = {int(pk) for pk in party_ids}
    if len(ids) > MAX_MEMBERS_AT_ONCE:
        raise ValidationError(
            {"party_ids": _("At most %(n)d parties at once.") % {"n": MAX_MEMBERS_AT_ONCE}}
        )
    parties = Party.objects.filter(deleted_at__isnull=True, pk__in=ids)
    if actor is not None:
        parties = visible_records(parties, user=actor)
    wanted = set(parties.values_list("pk", flat=True))
    present = set(
        SegmentMember.objects.filter(segment=segment, party_id__in=wanted).values_list(
            "party_id", flat=True
        )
    )
    added_by = actor if actor is not None and actor.pk else None
    new = [
        SegmentMember(segment=segment, party_id=pk, added_by=added_by)
        for pk in sorted(wanted - present)
    ]
    SegmentMember.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    refresh_count(segment)
    return len(new)


@transaction.atomic
def members_remove(*, actor: User | None, segment: Segment, party_ids: Iterable[int]) -> int:
    """Take parties off a static segment's list. Returns how many were removed."""
    _require(actor, "marketing.change_record", segment)
    _static(segment)
    members = SegmentMember.objects.filter(
        segment=segment, party_id__in={int(p) for p in party_ids}
    )
    if actor is not None:
        members = members.filter(
            party_id__in=visible_records(Party.objects.all(), user=actor).values("pk")
        )
    removed, _detail = members.delete()
    refresh_count(segment)
    return removed


# --- saved views into segments ------------------------------------------------------------------


@dataclass
class Translation:
    conditions: list[dict]
    untranslated: list[str]


def _custom_conditions(query: QueryDict) -> list[dict]:
    """The list's custom-field filters (``cf_<key>``, ``cf_<key>_min``/``_max``) as conditions
    that find what the list finds (text anywhere in the value, choices exactly)."""
    conditions = []
    fields = {f.key: f for f in custom_fields_for("party")}
    for name in query:
        if not name.startswith(FORM_PREFIX):
            continue
        value = (query.get(name) or "").strip()
        if not value:
            continue
        rest = name[len(FORM_PREFIX) :]
        key, op = rest, "eq"
        for suffix, suffix_op in (("_min", "gte"), ("_max", "lte")):
            if rest.endswith(suffix) and rest[: -len(suffix)] in fields:
                key, op = rest[: -len(suffix)], suffix_op
        field = fields.get(key)
        if field is None:
            continue  # the list ignores it too
        if field.type == CustomFieldType.MULTI_CHOICE:
            op = "contains"
        elif field.type in (CustomFieldType.TEXT, CustomFieldType.URL):
            op = "contains"  # the list's text filter finds the term anywhere
        conditions.append({"field": f"{queries.CUSTOM_PREFIX}{key}", "op": op, "value": value})
    return conditions


FIGURE_RANGE_FIELDS = {
    "clv_min": ("clv", "gte"),
    "clv_max": ("clv", "lte"),
    "nps_min": ("last_nps", "gte"),
    "nps_max": ("last_nps", "lte"),
    "csat_min": ("last_csat", "gte"),
    "csat_max": ("last_csat", "lte"),
    "loyalty_min": ("last_loyalty", "gte"),
    "loyalty_max": ("last_loyalty", "lte"),
}
# Filters of the party list with no condition to match them exactly.
UNTRANSLATABLE = ("q", "clv_next_12_min", "clv_next_12_max", "clv_basis")


def translate_view_query(raw: str) -> Translation:
    """The party list's filters (a saved view's query) as segment conditions, as far as they
    go: the text search (names and contact details) and the next-12-months CLV have no
    condition, so they are listed as untranslated. Sort and paging do not matter."""
    query = QueryDict(raw or "")
    params = list_params(query)
    conditions: list[dict] = []
    untranslated = [name for name in UNTRANSLATABLE if (query.get(name) or "").strip()]
    if params["kind"] in PartyKind.values:
        conditions.append({"field": "kind", "op": "eq", "value": params["kind"]})
    if params["role"] in PartyRole.values:
        conditions.append({"field": "role", "op": "contains", "value": params["role"]})
    if params["tag"]:
        conditions.append({"field": "tags", "op": "contains", "value": params["tag"]})
    figures = params["figures"]
    for name in FIGURE_CHOICES:
        if name in figures and name != "clv_basis":
            conditions.append({"field": name, "op": "eq", "value": figures[name]})
    for name in (*CLV_RANGES, *SURVEY_RANGES):
        if name in figures and name in FIGURE_RANGE_FIELDS:
            field, op = FIGURE_RANGE_FIELDS[name]
            conditions.append({"field": field, "op": op, "value": str(figures[name])})
    conditions += _custom_conditions(query)
    untranslated += [name for name, value in params["extra"].items() if value]
    try:
        conditions = queries.clean_conditions(conditions)
    except ValidationError:
        untranslated.append("conditions")
    return Translation(conditions=conditions, untranslated=untranslated)


@dataclass
class FromView:
    segment: Segment
    dynamic: bool
    untranslated: list[str]


@transaction.atomic
def segment_from_saved_view(
    *, actor: User, view: SavedView, name: str = "", snapshot: bool = False
) -> FromView:
    """A segment from one of the actor's saved party-list views: dynamic with the view's
    filters as conditions when every filter has one, else (or with ``snapshot``) a static
    list of the parties the view shows the actor now."""
    _require(actor, "marketing.add")
    if view.user_id != actor.pk or view.list_name != "parties":
        raise ValidationError({"view": _("Choose one of your saved party views.")})
    name = (name or view.name).strip()[:120]
    translation = translate_view_query(view.query)
    if not snapshot and not translation.untranslated:
        segment = segment_create(
            actor=actor,
            name=name,
            kind=SegmentKind.DYNAMIC,
            conditions=translation.conditions,
            description=_("Made from the saved view “%s”.") % view.name,
        )
        segment.source_view = view
        segment.save(update_fields=["source_view", "updated_at"])
        return FromView(segment=segment, dynamic=True, untranslated=[])
    segment = segment_create(
        actor=actor,
        name=name,
        kind=SegmentKind.STATIC,
        description=_("The parties of the saved view “%(view)s” on %(day)s.")
        % {"view": view.name, "day": timezone.localdate().isoformat()},
    )
    segment.source_view = view
    segment.save(update_fields=["source_view", "updated_at"])
    params = list_params(QueryDict(view.query or ""))
    ids = party_list_for_user(user=actor, **params).order_by().values_list("pk", flat=True)
    members_add(actor=actor, segment=segment, party_ids=list(ids[:MAX_MEMBERS_AT_ONCE]))
    return FromView(segment=segment, dynamic=False, untranslated=translation.untranslated)


# --- counting over time -------------------------------------------------------------------------


def refresh_count(segment: Segment, *, now=None) -> int:
    """Count the members now: kept on the segment (``member_count``, ``counted_at``) and as
    today's snapshot (the day's last count wins)."""
    now = now or timezone.now()
    count = queries.count_members(segment)
    Segment.objects.filter(pk=segment.pk).update(member_count=count, counted_at=now)
    segment.member_count, segment.counted_at = count, now
    SegmentSnapshot.objects.update_or_create(
        segment_id=segment.pk, day=timezone.localdate(now), defaults={"count": count}
    )
    return count


def snapshot_all(*, now=None) -> int:
    """The nightly job's work: every segment counted and its snapshot kept. Returns how many."""
    done = 0
    for segment in Segment.objects.order_by("pk").iterator():
        refresh_count(segment, now=now)
        done += 1
    return done
