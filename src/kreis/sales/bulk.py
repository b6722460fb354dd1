"""Many deals at once: validation, create and update in bulk (imports).

The rules are those of ``kreis.sales.services``: a stage of the deal's pipeline, entered
through ``_enter_stage`` (closed for won and lost, a lost stage needs a reason, a stage-change
row per deal), an organisation and a contact person of the right kind, a three-letter
currency, custom fields, the field checks. Writes keep the history (with tags), the stage
changes and the search index, with a fixed number of statements per batch. Everything runs
inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Min
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from kreis.core.customfields import clean_custom_values, custom_fields_for
from kreis.core.jsonvalue import apply_values, json_value
from kreis.core.models import User
from kreis.core.purge import purge
from kreis.core.search import index_records
from kreis.parties.models import PartyKind
from kreis.parties.tagging import bulk_set_tags, tag_names, tags_differ
from kreis.sales.models import Deal, Pipeline, StageChange, StageKind
from kreis.sales.services import _check_party, _clean_scalars, _enter_stage, _first_open_stage

SCALARS = ("name", "amount", "currency", "expected_close", "source", "notes", "external_id")
RELATIONS = ("pipeline", "stage", "organization", "contact", "owner", "team", "lost_reason")
OTHER = ("lost_note", "closed_at", "custom")
NOT_CLEANED = [*RELATIONS, "tags", "external_id"]


def deal_rows_clean(
    *, actor: User | None, rows: Sequence[Mapping[str, Any]], default: Pipeline
) -> tuple[list[Deal | None], list[dict[str, Any]]]:
    """Each row (scalar fields; ``pipeline``, ``stage``, ``organization``, ``contact``,
    ``owner``, ``team``, ``lost_reason`` objects; ``lost_note``, ``closed_at``, ``custom``)
    as an unsaved, validated deal in its stage, or ``None``; problems as ``{"row", "field",
    "message"}``. Without a pipeline the stage's, else ``default``; without a stage the
    pipeline's first open stage. ``deal.stage_change`` is the change row to write."""
    deals: list[Deal | None] = []
    errors: list[dict[str, Any]] = []
    custom_fields = custom_fields_for("deal")
    for i, row in enumerate(rows):
        deals.append(None)
        unknown = set(row) - {*SCALARS, *RELATIONS, *OTHER}
        if unknown:
            raise ValueError(f"not deal fields: {sorted(unknown)}")
        problems: dict[str, list[str]] = {}
        try:
            deal = _deal(actor, row, default, custom_fields)
        except ValidationError as exc:
            problems = exc.message_dict
        else:
            try:
                deal.full_clean(exclude=NOT_CLEANED, validate_unique=False)
            except ValidationError as exc:
                problems = exc.message_dict
        if problems:
            errors += [
                {"row": i, "field": field, "message": message}
                for field, messages in problems.items()
                for message in messages
            ]
        else:
            deals[i] = deal
    return deals, errors


def _deal(actor, row, default, custom_fields) -> Deal:
    stage = row.get("stage")
    pipeline = row.get("pipeline") or (stage.pipeline if stage is not None else default)
    if stage is None:
        stage = _first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage_id": _("The stage belongs to another pipeline.")})
    _check_party(
        actor, row.get("organization"), field="organization_id", kind=PartyKind.ORGANIZATION
    )
    _check_party(actor, row.get("contact"), field="contact_id", kind=PartyKind.PERSON)
    scalars = _clean_scalars({k: v for k, v in row.items() if k in SCALARS})
    scalars["currency"] = scalars.get("currency") or "EUR"
    if len(scalars["currency"]) != 3 or not scalars["currency"].isalpha():
        raise ValidationError({"currency": _("Enter a three-letter currency code (ISO 4217).")})
    if scalars.get("amount") is None:
        scalars["amount"] = Decimal(0)
    deal = Deal(
        pipeline=pipeline,
        organization=row.get("organization"),
        contact=row.get("contact"),
        owner=row.get("owner"),
        team=row.get("team"),
        custom=clean_custom_values("deal", dict(row.get("custom") or {}), fields=custom_fields),
        **scalars,
    )
    deal.stage_change = _enter_stage(
        deal,
        stage,
        actor=actor,
        lost_reason=row.get("lost_reason"),
        lost_note=row.get("lost_note") or "",
    )
    if row.get("closed_at") and stage.kind != StageKind.OPEN:
        deal.closed_at = row["closed_at"]
    return deal


def _top_positions(deals: Sequence[Deal]) -> None:
    """New deals at the top of their column, in file order (as ``deal_create`` places one)."""
    stage_ids = {d.stage_id for d in deals}
    lowest = dict(
        Deal.objects.filter(stage_id__in=stage_ids)
        .values("stage_id")
        .annotate(low=Min("position"))
        .values_list("stage_id", "low")
    )
    for deal in reversed(deals):
        position = lowest.get(deal.stage_id)
        deal.position = 0 if position is None else position - 1
        lowest[deal.stage_id] = deal.position


def deals_create(
    *, actor: User | None, deals: Sequence[Deal], tags: Sequence[Sequence[str]] = ()
) -> list[Deal]:
    """Insert validated deals (``deal_rows_clean``) with their first stage change, tags,
    history ("created", by the actor) and search entries."""
    _top_positions(deals)
    created = Deal.objects.bulk_create(list(deals), batch_size=1000)
    changes = []
    for deal in created:
        change = getattr(deal, "stage_change", None)
        if change is not None:
            change.deal = deal
            changes.append(change)
    StageChange.objects.bulk_create(changes, batch_size=1000)
    history = Deal.history.bulk_history_create(created, batch_size=1000, default_user=actor)
    if tags:
        tagged = [(i, names) for i, names in enumerate(tags) if names]
        bulk_set_tags(
            Deal,
            [(created[i], names) for i, names in tagged],
            history=[history[i] for i, _names in tagged],
        )
    index_records(created, created=True)
    return created


def deals_update(
    *,
    actor: User | None,
    changes: Sequence[tuple[Deal, Mapping[str, Any], Sequence[str] | None]],
) -> list[tuple[Deal, dict[str, Any]]]:
    """Give existing deals the values of validated drafts (only the given fields that
    differ; a new stage is a stage change) and, where given, new tags. Returns each changed
    deal with its previous values (by attname, ``"tags"``: names) for undo."""
    changed: list[tuple[Deal, dict[str, Any], Sequence[str] | None]] = []
    fields: set[str] = set()
    stage_changes = []
    tag_names_of = tag_names(Deal, [deal.pk for deal, _v, names in changes if names is not None])
    for deal, values, names in changes:
        before: dict[str, Any] = {}
        values = dict(values)
        stage = values.pop("stage", None)
        if stage is not None and stage.pk != deal.stage_id:
            kept = {
                a: getattr(deal, a)
                for a in (
                    "stage_id",
                    "closed_at",
                    "lost_reason_id",
                    "lost_note",
                    "pipeline_id",
                    "position",
                )
            }
            deal.pipeline_id = stage.pipeline_id
            change = _enter_stage(
                deal,
                stage,
                actor=actor,
                lost_reason=values.pop("lost_reason", None),
                lost_note=values.pop("lost_note", "") or "",
            )
            if change is not None:
                change.deal = deal
                stage_changes.append(change)
            for attname, old in kept.items():
                if getattr(deal, attname) != old:
                    before[attname] = json_value(old)
                    fields.add(attname)
        changes_made = apply_values(deal, values)
        fields.update(changes_made)
        before.update(changes_made)
        if tags_differ(names, tag_names_of.get(deal.pk, [])):
            before["tags"] = tag_names_of.get(deal.pk, [])
        if before:
            changed.append((deal, before, names if "tags" in before else None))
    if not changed:
        return []
    deals = [deal for deal, _before, _names in changed]
    bulk_update_with_history(
        deals, Deal, sorted(fields | {"updated_at"}), batch_size=500, default_user=actor
    )
    StageChange.objects.bulk_create(stage_changes, batch_size=1000)
    retagged = [(deal, names) for deal, _before, names in changed if names is not None]
    if retagged:
        bulk_set_tags(Deal, retagged, replace=True)
    index_records(
        Deal.objects.filter(pk__in=[d.pk for d in deals]).select_related(
            "organization", "contact", "stage"
        )
    )
    return [(deal, before) for deal, before, _names in changed]


def deals_restore(befores: Mapping[int, Mapping[str, Any]], *, actor: User | None) -> None:
    """Write previous values back (``deals_update``'s ``before``), tags included; a stage
    changed back is recorded as a stage change."""
    deals = Deal.objects.in_bulk(list(befores))
    columns = {f.attname: f for f in Deal._meta.concrete_fields}
    fields: set[str] = set()
    retag = []
    changes = []
    for pk, before in befores.items():
        deal = deals.get(pk)
        if deal is None:
            continue
        for attname, value in before.items():
            if attname == "tags":
                retag.append((deal, value))
                continue
            if attname == "stage_id" and value != deal.stage_id:
                changes.append(
                    StageChange(
                        deal=deal, from_stage_id=deal.stage_id, to_stage_id=value, changed_by=actor
                    )
                )
            setattr(deal, attname, None if value is None else columns[attname].to_python(value))
            fields.add(attname)
    if fields:
        bulk_update_with_history(
            list(deals.values()), Deal, sorted(fields), batch_size=500, default_user=actor
        )
    StageChange.objects.bulk_create(changes)
    if retag:
        bulk_set_tags(Deal, retag, replace=True)
    index_records(
        Deal.objects.filter(pk__in=list(deals)).select_related("organization", "contact", "stage")
    )


def deals_delete(ids: Sequence[int]) -> None:
    """Remove deals for good (an import undone) with everything depending on them: stage
    changes, lines, tag links, their activities, history rows and search entries; leads
    converted into them keep no link (``kreis.core.purge``: set-based, no signals)."""
    purge(Deal, ids)


def stages_by_name() -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Pipelines and their stages by name, case ignored, each also under the other
    language's name while it has the name Kreis ships (``Vertrieb`` is ``Sales``,
    ``Gewonnen`` is ``Won``): (pipelines by name, per pipeline id its stages by name).
    A name that two pipelines (or two stages of one) share maps to ``None``."""
    from kreis.sales.services import DEFAULT_PIPELINE

    en, de = DEFAULT_PIPELINE["en"], DEFAULT_PIPELINE["de"]
    twins = {en[0].casefold(): de[0], de[0].casefold(): en[0]}
    for (en_stage, *_a), (de_stage, *_b) in zip(en[1], de[1], strict=True):
        twins[en_stage.casefold()] = de_stage
        twins[de_stage.casefold()] = en_stage

    def names(name: str) -> list[str]:
        twin = twins.get(name.casefold())
        return [name.casefold()] + ([twin.casefold()] if twin else [])

    pipelines: dict[str, Any] = {}
    stages: dict[int, dict[str, Any]] = {}
    for pipeline in Pipeline.objects.filter(is_active=True).prefetch_related("stages"):
        for key in names(pipeline.name):
            pipelines[key] = None if key in pipelines else pipeline
        table = stages.setdefault(pipeline.pk, {})
        for stage in pipeline.stages.all():
            stage.pipeline = pipeline
            for key in names(stage.name):
                table[key] = None if key in table and table[key] != stage else stage
    return pipelines, stages
