"""Writes of deals and pipelines: typed, keyword-only, atomic.

A deal's stage changes only through ``_enter_stage`` (used by ``deal_create``, ``deal_move``
and ``deal_update``): it validates the transition, keeps ``closed_at`` and the lost reason
consistent with the stage's kind and writes a ``StageChange`` row (who, when, from, to).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.commerce.models import Product
from kreis.core.bulk import BulkActions
from kreis.core.customfields import clean_custom_values
from kreis.core.models import Team, User
from kreis.core.search import index_record
from kreis.core.services import check_assignment
from kreis.parties.models import Party, PartyKind
from kreis.parties.services import set_tags
from kreis.sales.line_changes import announce_lines_changed, lines_signature
from kreis.sales.models import (
    Deal,
    DealLine,
    ForecastCategory,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
    default_forecast_category,
)
from kreis.sales.queries import board_column_for_placement

_UNSET: Any = object()
CENT = Decimal("0.01")
SCALAR_FIELDS = (
    "name",
    "amount",
    "currency",
    "expected_close",
    "source",
    "notes",
    "external_id",
    "channel",
    "forecast_category",
)


class StaleDeal(Exception):  # noqa: N818 (a domain word, not an "…Error")
    """The deal was changed by someone else since the client read it; nothing was written."""

    def __init__(self, deal: Deal):
        super().__init__(f"Deal {deal.pk} was changed at {deal.updated_at.isoformat()}")
        self.deal = deal


# --- Deals ---------------------------------------------------------------------------------


def default_pipeline() -> Pipeline:
    """The pipeline new deals land in: the one marked default, else the first active one."""
    pipeline = (
        Pipeline.objects.filter(is_active=True).order_by("-is_default", "position", "pk").first()
    )
    return pipeline or ensure_default_pipeline()


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "pk").first()
    if stage is None:
        raise ValidationError({"stage_id": _("This pipeline has no open stage.")})
    return stage


def _check_party(actor: User | None, party: Party | None, *, field: str, kind: str) -> None:
    if party is None:
        return
    if party.kind != kind or party.deleted_at is not None:
        message = (
            _("Choose an organisation.")
            if kind == PartyKind.ORGANIZATION
            else _("Choose a person as contact.")
        )
        raise ValidationError({field: message})
    if actor is not None and not actor.has_perm("core.view_record", party):
        raise ValidationError({field: _("You cannot link a party you may not see.")})


def _decimal(value: Any, field: str, errors: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[field] = [_("Enter a number.")]
        return None
    if not number.is_finite():
        errors[field] = [_("Enter a number.")]
        return None
    return number


def _build_lines(items: Iterable[Mapping[str, Any]]) -> list[DealLine]:
    """Line items from dicts (product_id, description, quantity, unit_price, discount).

    A product fills in what is left out: its name as description, its list price as price.
    """
    lines, errors = [], {}
    items = list(items)
    product_ids = {item.get("product_id") for item in items if item.get("product_id")}
    products = Product.objects.in_bulk([p for p in product_ids if isinstance(p, int)])
    for i, item in enumerate(items):
        unknown = set(item) - {"product_id", "description", "quantity", "unit_price", "discount"}
        for key in sorted(unknown):
            errors[f"lines.{i}.{key}"] = [_("This field cannot be set.")]
        product = None
        if item.get("product_id"):
            product = products.get(item["product_id"])
            if product is None:
                errors[f"lines.{i}.product_id"] = [_("No such product.")]
        quantity = _decimal(item.get("quantity", 1), f"lines.{i}.quantity", errors)
        unit_price = _decimal(item.get("unit_price"), f"lines.{i}.unit_price", errors)
        discount = _decimal(item.get("discount"), f"lines.{i}.discount", errors)
        if unit_price is None and product is not None:
            unit_price = product.list_price
        description = str(item.get("description") or "").strip()
        if not description and product is not None:
            description = product.name[:200]
        line = DealLine(
            product=product,
            description=description,
            quantity=quantity if quantity is not None else Decimal(1),
            unit_price=unit_price if unit_price is not None else Decimal(0),
            discount=discount or Decimal(0),
        )
        if not description and product is None:
            errors.setdefault(f"lines.{i}.description", [_("Describe the item or pick a product.")])
        try:
            line.full_clean(exclude=["deal"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(f"lines.{i}.{field}", messages)
        if line.total < 0:
            errors.setdefault(f"lines.{i}.discount", [_("The discount exceeds the line's value.")])
        lines.append(line)
    if errors:
        raise ValidationError(errors)
    return lines


def _lines_total(lines: Iterable[DealLine]) -> Decimal:
    return sum((line.total for line in lines), Decimal(0)).quantize(CENT)


def _clean_scalars(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if "external_id" in data and not data["external_id"]:
        data["external_id"] = None
    if data.get("currency"):
        data["currency"] = data["currency"].upper()
    if "amount" in data and data["amount"] is not None:
        errors: dict = {}
        data["amount"] = _decimal(data["amount"], "amount", errors)
        if errors:
            raise ValidationError(errors)
    return data


def _save(deal: Deal) -> None:
    if deal.stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage_id": _("The stage belongs to another pipeline.")})
    if deal.external_id and (
        Deal.objects.filter(external_id=deal.external_id).exclude(pk=deal.pk).exists()
    ):
        raise ValidationError({"external_id": _("Another deal has this external ID.")})
    if not re.fullmatch(r"[A-Z]{3}", deal.currency or ""):
        raise ValidationError({"currency": _("Enter a three-letter currency code (ISO 4217).")})
    if deal.stage.kind == StageKind.WON:
        deal.forecast_category = ForecastCategory.CLOSED  # won is closed, whatever was chosen
    elif deal.forecast_category == ForecastCategory.CLOSED:
        raise ValidationError(
            {"forecast_category": _("Only a won deal is closed; choose commit for a sure one.")}
        )
    exclude = ["pipeline", "stage", "organization", "contact", "owner", "team", "lost_reason"]
    deal.full_clean(exclude=exclude, validate_unique=False)
    deal.save()


def _top_position(stage: Stage) -> int:
    """A position above every card of the column: new deals appear at its top."""
    lowest = Deal.objects.filter(stage=stage).aggregate(low=Min("position"))["low"]
    return 0 if lowest is None else lowest - 1


def _enter_stage(
    deal: Deal,
    stage: Stage,
    *,
    actor: User | None,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
) -> StageChange | None:
    """Put the (unsaved) deal into ``stage``; returns the change row to write after saving.

    Entering a won or lost stage sets ``closed_at``; entering an open stage clears it and
    the lost reason. A lost stage needs a reason.
    """
    previous = deal.stage if deal.stage_id else None
    if previous is not None and previous.pk == stage.pk:
        return None
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage_id": _("The stage belongs to another pipeline.")})
    if stage.kind == StageKind.LOST:
        if lost_reason is None:
            raise ValidationError({"lost_reason_id": _("Say why the deal was lost.")})
        if not lost_reason.is_active:
            raise ValidationError({"lost_reason_id": _("This lost reason is no longer offered.")})
        deal.lost_reason = lost_reason
        deal.lost_note = (lost_note or "").strip()[:300]
    else:
        deal.lost_reason = None
        deal.lost_note = ""
    if stage.kind == StageKind.OPEN:
        deal.closed_at = None
    elif previous is None or previous.kind != stage.kind or deal.closed_at is None:
        deal.closed_at = timezone.now()
    # The forecast category follows the stage while nobody chose another one: a category equal
    # to the old stage's default (or closed, when a won deal reopens) takes the new default.
    if (
        previous is None
        or deal.forecast_category in ("", default_forecast_category(previous))
        or stage.kind == StageKind.WON
        or deal.forecast_category == ForecastCategory.CLOSED
    ):
        deal.forecast_category = default_forecast_category(stage)
    deal.stage = stage
    return StageChange(from_stage=previous, to_stage=stage, changed_by=actor)


def _record(change: StageChange | None, deal: Deal) -> None:
    if change is not None:
        change.deal = deal
        change.save()


@transaction.atomic
def deal_create(
    *,
    actor: User | None,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    organization: Party | None = None,
    contact: Party | None = None,
    amount: Decimal | int | str | None = 0,
    currency: str = "EUR",
    expected_close: dt.date | None = None,
    owner: User | None = None,
    team: Team | None = None,
    source: str = "",
    notes: str = "",
    custom: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    lines: Iterable[Mapping[str, Any]] = (),
    external_id: str | None = None,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
    channel: str = "",
    forecast_category: str | None = None,
) -> Deal:
    """Create a deal in a pipeline's stage with its line items and tags.

    Without a forecast category the stage's default (``default_forecast_category``).

    Without a pipeline the default one; without a stage its first open stage; without an
    owner the actor; without a team the actor's first team. With lines and no amount, the
    amount is the sum of the line totals (quantity × unit price − discount).
    """
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else default_pipeline()
    if stage is None:
        stage = _first_open_stage(pipeline)
    if owner is None and actor is not None:
        owner = actor
    if team is None and actor is not None:
        team = Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
    check_assignment(actor=actor, owner=owner, team=team)
    _check_party(actor, organization, field="organization_id", kind=PartyKind.ORGANIZATION)
    _check_party(actor, contact, field="contact_id", kind=PartyKind.PERSON)
    built = _build_lines(lines)
    scalars = _clean_scalars(
        {
            "name": name,
            "amount": amount,
            "currency": currency or "EUR",
            "expected_close": expected_close,
            "source": source,
            "notes": notes,
            "external_id": external_id,
            "channel": channel or "",
        }
    )
    if built and not scalars["amount"]:
        scalars["amount"] = _lines_total(built)
    if scalars["amount"] is None:
        scalars["amount"] = Decimal(0)
    deal = Deal(
        pipeline=pipeline,
        organization=organization,
        contact=contact,
        owner=owner,
        team=team,
        custom=clean_custom_values("deal", custom or {}),
        position=_top_position(stage),
        **scalars,
    )
    change = _enter_stage(deal, stage, actor=actor, lost_reason=lost_reason, lost_note=lost_note)
    if forecast_category:
        deal.forecast_category = forecast_category
    _save(deal)
    _record(change, deal)
    for line in built:
        line.deal = deal
    DealLine.objects.bulk_create(built)
    if tags:
        set_tags(deal, tags)
    index_record(deal)
    return deal


def _version(moment: dt.datetime) -> dt.datetime:
    # JSON carries milliseconds (the API's encoder cuts the microseconds): compare at that.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _check_fresh(deal: Deal, expected_updated_at: dt.datetime | None) -> Deal:
    """Lock the deal's row and refuse the write if it changed since ``expected_updated_at``."""
    current = Deal.objects.select_for_update().get(pk=deal.pk)
    if current.stage_id == deal.stage_id and Deal.stage.is_cached(deal):
        current.stage = deal.stage  # the same stage row, already loaded: no query for it
    if expected_updated_at is not None and (
        _version(current.updated_at) != _version(expected_updated_at)
    ):
        raise StaleDeal(current)
    return current


@transaction.atomic
def deal_update(
    *,
    actor: User | None,
    deal: Deal,
    owner: User | None = _UNSET,
    team: Team | None = _UNSET,
    pipeline: Pipeline | None = _UNSET,
    stage: Stage | None = _UNSET,
    organization: Party | None = _UNSET,
    contact: Party | None = _UNSET,
    lost_reason: LostReason | None = None,
    lost_note: str | None = None,
    custom: dict[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    lines: Iterable[Mapping[str, Any]] | None = None,
    expected_updated_at: dt.datetime | None = None,
    **changes: Any,
) -> Deal:
    """Change a deal's fields. Lines or tags given replace the old ones; with new lines and
    no amount the amount becomes their total. A new stage (or pipeline and stage) is a stage
    change like ``deal_move``. When the lines' products, quantities, prices or discounts
    change, the apps that rest on them hear of it (``kreis.sales.line_changes``)."""
    if actor is not None and not actor.has_perm("core.change_record", deal):
        raise PermissionDenied
    unknown = set(changes) - set(SCALAR_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    _check_fresh(deal, expected_updated_at)
    new_owner = deal.owner if owner is _UNSET else owner
    new_team = deal.team if team is _UNSET else team
    if (new_owner, new_team) != (deal.owner, deal.team):
        check_assignment(actor=actor, owner=new_owner, team=new_team)
    deal.owner, deal.team = new_owner, new_team
    if organization is not _UNSET:
        if organization is not None and organization.pk != deal.organization_id:
            _check_party(actor, organization, field="organization_id", kind=PartyKind.ORGANIZATION)
        deal.organization = organization
    if contact is not _UNSET:
        if contact is not None and contact.pk != deal.contact_id:
            _check_party(actor, contact, field="contact_id", kind=PartyKind.PERSON)
        deal.contact = contact
    scalars = _clean_scalars(changes)
    if scalars.get("amount", 0) is None:
        scalars.pop("amount")
    for field, value in scalars.items():
        setattr(deal, field, value)
    if custom is not None:
        deal.custom = clean_custom_values("deal", custom, existing=deal.custom)
    built = _build_lines(lines) if lines is not None else None
    if built is not None and "amount" not in scalars:
        deal.amount = _lines_total(built)
    change = None
    if pipeline is not _UNSET and pipeline is not None and pipeline.pk != deal.pipeline_id:
        deal.pipeline = pipeline
        if stage is _UNSET or stage is None:
            stage = _first_open_stage(pipeline)
    if stage is not _UNSET and stage is not None:
        if stage.pk != deal.stage_id:
            deal.position = _top_position(stage)
        change = _enter_stage(
            deal, stage, actor=actor, lost_reason=lost_reason, lost_note=lost_note or ""
        )
        if scalars.get("forecast_category"):
            deal.forecast_category = scalars["forecast_category"]  # chosen with the move
    if change is None and lost_note is not None and deal.stage.kind == StageKind.LOST:
        if lost_reason is not None:
            deal.lost_reason = lost_reason
        deal.lost_note = lost_note.strip()[:300]
    _save(deal)
    _record(change, deal)
    if built is not None:
        before = lines_signature(DealLine.objects.filter(deal=deal))
        deal.lines.all().delete()
        for line in built:
            line.deal = deal
        DealLine.objects.bulk_create(built)
        if lines_signature(built) != before:
            announce_lines_changed(actor=actor, deal=deal)  # e.g. a pending approval ends
    if tags is not None:
        set_tags(deal, tags)
    index_record(deal)
    return deal


@transaction.atomic
def deal_delete(*, actor: User | None, deal: Deal) -> None:
    """Soft delete: the deal leaves the board, lists, forecast and search; it stays restorable."""
    if actor is not None and not actor.has_perm("core.change_record", deal):
        raise PermissionDenied
    deal.deleted_at = timezone.now()
    deal.save(update_fields=["deleted_at", "updated_at"])
    index_record(deal)  # removes the entry


def _place(deal: Deal, stage: Stage, index: int, visible_column: Sequence[Deal]) -> None:
    """Give ``deal`` the position that puts it at ``index`` of the column the user sees.

    Only the neighbours the user sees matter; cards after the insertion point shift down in
    one UPDATE (which leaves their ``updated_at`` alone, so nobody else's move turns stale).
    """
    others = [d for d in visible_column if d.pk != deal.pk]
    index = max(0, min(index, len(others)))
    before = others[index - 1] if index > 0 else None
    after = others[index] if index < len(others) else None
    if after is not None:
        target = after.position
        if before is not None and before.position < target - 1:
            deal.position = target - 1
            return
        if before is None:
            deal.position = target - 1
            return
    elif before is not None:
        target = before.position + 1
    else:
        deal.position = _top_position(stage)
        return
    Deal.objects.filter(stage=stage, position__gte=target).exclude(pk=deal.pk).update(
        position=F("position") + 1
    )
    deal.position = target


@transaction.atomic
def deal_move(
    *,
    actor: User | None,
    deal: Deal,
    stage: Stage,
    expected_updated_at: dt.datetime | None = None,
    position: int | None = None,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
) -> Deal:
    """Move a deal to a stage of its pipeline (the board's drag and drop).

    Refused with ``StaleDeal`` when the deal changed since ``expected_updated_at`` (someone
    else moved or edited it). ``position`` is the index in the target column as the actor
    sees it; without it the deal goes to the top. A lost stage needs ``lost_reason``.
    """
    if actor is not None and not actor.has_perm("core.change_record", deal):
        raise PermissionDenied
    # Work on the locked, fresh row; keep the caller's object in step afterwards.
    current = _check_fresh(deal, expected_updated_at)
    change = _enter_stage(current, stage, actor=actor, lost_reason=lost_reason, lost_note=lost_note)
    if position is not None:
        column = board_column_for_placement(user=actor, stage=stage)
        _place(current, stage, position, column)
    elif change is not None:
        current.position = _top_position(stage)
    _save(current)
    _record(change, current)
    for field in (
        "stage",
        "position",
        "closed_at",
        "lost_reason",
        "lost_note",
        "forecast_category",
        "updated_at",
    ):
        setattr(deal, field, getattr(current, field))
    if change is not None:
        index_record(deal)  # the stage shows in the search hit
    return deal


# The list's bulk actions (kreis.core.bulk): each one is the single-deal service.
DEAL_BULK = BulkActions(
    assign_owner=lambda *, actor, record, owner: deal_update(actor=actor, deal=record, owner=owner),
    delete=lambda *, actor, record: deal_delete(actor=actor, deal=record),
    tags=True,
    confirm_template="sales/bulk_confirm.html",
)


# --- Pipelines, stages, lost reasons (administrators) --------------------------------------


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied


def _check_stage_kinds(pipeline: Pipeline) -> None:
    if not pipeline.stages.filter(kind=StageKind.OPEN).exists():
        raise ValidationError({"kind": _("A pipeline needs at least one open stage.")})


def _clean_pipeline(pipeline: Pipeline) -> None:
    pipeline.name = pipeline.name.strip()
    if Pipeline.objects.filter(name__iexact=pipeline.name).exclude(pk=pipeline.pk).exists():
        raise ValidationError({"name": _("Another pipeline has this name.")})
    pipeline.full_clean(validate_unique=False)


def _default_stages() -> list[dict[str, Any]]:
    return [
        {"name": _("Open"), "probability": 10, "kind": StageKind.OPEN},
        {"name": _("Won"), "probability": 100, "kind": StageKind.WON},
        {"name": _("Lost"), "probability": 0, "kind": StageKind.LOST},
    ]


@transaction.atomic
def pipeline_create(
    *,
    actor: User | None,
    name: str,
    description: str = "",
    is_default: bool = False,
    is_active: bool = True,
    position: int | None = None,
    stages: Iterable[Mapping[str, Any]] = (),
) -> Pipeline:
    """A new pipeline with its stages (without any: Open 10 %, Won, Lost)."""
    _require_admin(actor)
    if position is None:
        position = (Pipeline.objects.aggregate(top=Max("position"))["top"] or 0) + 1
    pipeline = Pipeline(
        name=name,
        description=description.strip(),
        is_default=is_default,
        is_active=is_active,
        position=position,
    )
    _clean_pipeline(pipeline)
    pipeline.save()
    for i, spec in enumerate(list(stages) or _default_stages()):
        # Stages are ordered as given unless a stage names its own position.
        spec = {**spec, "position": i if spec.get("position") is None else spec["position"]}
        stage_create(actor=actor, pipeline=pipeline, **spec)
    _check_stage_kinds(pipeline)
    if is_default or not Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).exists():
        _make_default(pipeline)
    return pipeline


def _make_default(pipeline: Pipeline) -> None:
    Pipeline.objects.exclude(pk=pipeline.pk).update(is_default=False)
    Pipeline.objects.filter(pk=pipeline.pk).update(is_default=True, is_active=True)
    pipeline.is_default, pipeline.is_active = True, True


@transaction.atomic
def pipeline_update(*, actor: User | None, pipeline: Pipeline, **changes: Any) -> Pipeline:
    """Rename, describe, (de)activate or make default. The default pipeline stays active."""
    _require_admin(actor)
    allowed = {"name", "description", "is_default", "is_active", "position"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(pipeline, field, value.strip() if isinstance(value, str) else value)
    if pipeline.is_default and not pipeline.is_active:
        raise ValidationError({"is_active": _("The default pipeline cannot be deactivated.")})
    if not pipeline.is_default and changes.get("is_default") is False:
        if not Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).exists():
            raise ValidationError({"is_default": _("Make another pipeline the default instead.")})
    _clean_pipeline(pipeline)
    pipeline.save()
    if pipeline.is_default:
        _make_default(pipeline)
    return pipeline


@transaction.atomic
def pipeline_reorder(*, actor: User | None, pipeline_ids: Sequence[int]) -> None:
    """Put pipelines in the given order (ids not named keep their place after them)."""
    _require_admin(actor)
    known = set(Pipeline.objects.filter(pk__in=pipeline_ids).values_list("pk", flat=True))
    if known != set(pipeline_ids) or len(pipeline_ids) != len(set(pipeline_ids)):
        raise ValidationError({"ids": _("Name each pipeline once.")})
    for position, pk in enumerate(pipeline_ids):
        Pipeline.objects.filter(pk=pk).update(position=position)


@transaction.atomic
def pipeline_delete(*, actor: User | None, pipeline: Pipeline) -> None:
    """Delete a pipeline no deal ever used; a used one can only be deactivated."""
    _require_admin(actor)
    if Deal.objects.filter(pipeline=pipeline).exists():
        raise ValidationError(
            {"pipeline": _("Deals use this pipeline; deactivate it instead of deleting.")}
        )
    if pipeline.is_default:
        raise ValidationError({"pipeline": _("Make another pipeline the default first.")})
    StageChange.objects.filter(to_stage__pipeline=pipeline).delete()
    pipeline.delete()


def _clean_stage(stage: Stage) -> None:
    stage.name = stage.name.strip()
    if (
        Stage.objects.filter(pipeline_id=stage.pipeline_id, name__iexact=stage.name)
        .exclude(pk=stage.pk)
        .exists()
    ):
        raise ValidationError({"name": _("This pipeline has a stage with this name already.")})
    if stage.kind == StageKind.WON and stage.probability != 100:
        stage.probability = 100
    if stage.kind == StageKind.LOST and stage.probability != 0:
        stage.probability = 0
    stage.full_clean(exclude=["pipeline"], validate_unique=False, validate_constraints=False)


@transaction.atomic
def stage_create(
    *,
    actor: User | None,
    pipeline: Pipeline,
    name: str,
    probability: int = 10,
    kind: str = StageKind.OPEN,
    position: int | None = None,
) -> Stage:
    """A stage of a pipeline; won stages count 100 %, lost stages 0 %."""
    _require_admin(actor)
    if position is None:
        position = (pipeline.stages.aggregate(top=Max("position"))["top"] or 0) + 1
    stage = Stage(
        pipeline=pipeline, name=name, probability=probability, kind=kind, position=position
    )
    _clean_stage(stage)
    stage.save()
    return stage


@transaction.atomic
def stage_update(*, actor: User | None, stage: Stage, **changes: Any) -> Stage:
    """Rename, re-weight or re-position a stage. Its kind changes only while no deal is in it
    (a won deal must not silently turn open)."""
    _require_admin(actor)
    allowed = {"name", "probability", "kind", "position"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    if "kind" in changes and changes["kind"] != stage.kind and stage.deals.exists():
        raise ValidationError({"kind": _("Deals are in this stage; its kind cannot change.")})
    for field, value in changes.items():
        setattr(stage, field, value)
    _clean_stage(stage)
    stage.save()
    _check_stage_kinds(stage.pipeline)
    return stage


@transaction.atomic
def stage_reorder(*, actor: User | None, pipeline: Pipeline, stage_ids: Sequence[int]) -> None:
    """Put a pipeline's stages in the given order (every stage named once)."""
    _require_admin(actor)
    have = set(pipeline.stages.values_list("pk", flat=True))
    if have != set(stage_ids) or len(stage_ids) != len(have):
        raise ValidationError({"stage_ids": _("Name each stage of the pipeline once.")})
    for position, pk in enumerate(stage_ids):
        Stage.objects.filter(pk=pk).update(position=position)


@transaction.atomic
def stage_delete(*, actor: User | None, stage: Stage) -> None:
    """Delete a stage no deal is in or ever was in (its history refers to it)."""
    _require_admin(actor)
    used = (
        Deal.objects.filter(stage=stage).exists()
        or StageChange.objects.filter(to_stage=stage).exists()
        or StageChange.objects.filter(from_stage=stage).exists()
    )
    if used:
        raise ValidationError({"stage": _("Deals use this stage; it cannot be deleted.")})
    pipeline = stage.pipeline
    stage.delete()
    _check_stage_kinds(pipeline)


@transaction.atomic
def lost_reason_create(*, actor: User | None, name: str, is_active: bool = True) -> LostReason:
    _require_admin(actor)
    reason = LostReason(name=name.strip(), is_active=is_active)
    if LostReason.objects.filter(name__iexact=reason.name).exists():
        raise ValidationError({"name": _("This lost reason exists already.")})
    reason.full_clean(validate_unique=False)
    reason.save()
    return reason


@transaction.atomic
def lost_reason_update(*, actor: User | None, reason: LostReason, **changes: Any) -> LostReason:
    _require_admin(actor)
    unknown = set(changes) - {"name", "is_active"}
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(reason, field, value.strip() if isinstance(value, str) else value)
    if LostReason.objects.filter(name__iexact=reason.name).exclude(pk=reason.pk).exists():
        raise ValidationError({"name": _("This lost reason exists already.")})
    reason.full_clean(validate_unique=False)
    reason.save()
    return reason


@transaction.atomic
def lost_reason_delete(*, actor: User | None, reason: LostReason) -> None:
    """Delete a reason no deal names; a used one can only be deactivated."""
    _require_admin(actor)
    if reason.deals.exists():
        raise ValidationError(
            {"lost_reason": _("Deals name this reason; deactivate it instead of deleting.")}
        )
    reason.delete()


# --- The pipeline a new installation starts with --------------------------------------------

# Written out per language (not through gettext): the data migration runs before anyone
# has compiled translations, and the names become data an administrator may rename.
DEFAULT_PIPELINE = {
    "en": (
        "Sales",
        [
            ("Qualification", 10, StageKind.OPEN),
            ("Needs analysis", 25, StageKind.OPEN),
            ("Proposal", 50, StageKind.OPEN),
            ("Negotiation", 75, StageKind.OPEN),
            ("Won", 100, StageKind.WON),
            ("Lost", 0, StageKind.LOST),
        ],
        ["Price too high", "Chose a competitor", "No budget", "No decision", "Bad timing"],
    ),
    "de": (
        "Vertrieb",
        [
            ("Qualifizierung", 10, StageKind.OPEN),
            ("Bedarfsanalyse", 25, StageKind.OPEN),
            ("Angebot", 50, StageKind.OPEN),
            ("Verhandlung", 75, StageKind.OPEN),
            ("Gewonnen", 100, StageKind.WON),
            ("Verloren", 0, StageKind.LOST),
        ],
        ["Preis zu hoch", "Wettbewerber gewählt", "Kein Budget", "Keine Entscheidung", "Zeitpunkt"],
    ),
}


def ensure_default_pipeline(*, apps=None, language: str | None = None) -> Pipeline:
    """The default pipeline, created with its stages and a few lost reasons if there is none.

    ``apps`` is the historical app registry when called from a migration.
    """
    from django.conf import settings

    models = apps or None
    pipeline_model = models.get_model("sales", "Pipeline") if models else Pipeline
    stage_model = models.get_model("sales", "Stage") if models else Stage
    reason_model = models.get_model("sales", "LostReason") if models else LostReason
    existing = pipeline_model.objects.order_by("-is_default", "position", "pk").first()
    if existing is not None:
        return existing
    name, stages, reasons = DEFAULT_PIPELINE.get(
        (language or settings.LANGUAGE_CODE)[:2], DEFAULT_PIPELINE["en"]
    )
    pipeline = pipeline_model.objects.create(name=name, is_default=True, position=0)
    stage_model.objects.bulk_create(
        stage_model(pipeline=pipeline, name=n, probability=p, kind=k, position=i)
        for i, (n, p, k) in enumerate(stages)
    )
    for reason in reasons:
        reason_model.objects.get_or_create(name=reason)
    return pipeline
