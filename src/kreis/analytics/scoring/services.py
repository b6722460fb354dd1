"""Scoring models and utility-value options change only through these services (UI, API and
admin call them): administrators only, criteria validated against the target's field catalogue,
one transaction each. The engine that scores is ``kreis.analytics.scoring.engine``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kreis.analytics.scoring.engine import MAX_CRITERIA, OPTION_KEY, apply_model, field_map
from kreis.analytics.scoring.models import (
    PRIMARY_TARGETS,
    Criterion,
    CriterionKind,
    ScoringModel,
    ScoringTarget,
    UtilityOption,
    normalize_thresholds,
)
from kreis.core.models import User
from kreis.leads.models import Lead
from kreis.parties.models import Party


def _require_admin(actor: User | None) -> None:
    if actor is not None and (not actor.is_admin or actor.is_read_only):
        raise PermissionDenied


def _criteria_rows(model: ScoringModel, criteria: Sequence[dict]) -> list[Criterion]:
    """Validated (unsaved) criteria; errors named ``criteria.<index>.<field>``."""
    if not criteria:
        raise ValidationError({"criteria": [_("Add at least one criterion.")]})
    if len(criteria) > MAX_CRITERIA:
        raise ValidationError({"criteria": [_("At most %(n)d criteria.") % {"n": MAX_CRITERIA}]})
    catalogue = field_map(model.target)
    errors: dict[str, list[str]] = {}
    rows: list[Criterion] = []
    seen: set[str] = set()
    for index, data in enumerate(criteria):

        def error(name: str, message: str, index: int = index) -> None:
            errors.setdefault(f"criteria.{index}.{name}", []).append(message)

        key = str(data.get("field") or "").strip()
        label = str(data.get("label") or "").strip()
        kind = str(data.get("kind") or "")
        if model.target == ScoringTarget.OPTION:
            key = key or slugify(label).replace("-", "_")
            if not OPTION_KEY.match(key):
                error("field", _("Use lower case letters, digits and underscores."))
            kind = kind or CriterionKind.NUMERIC
        elif key not in catalogue:
            error("field", _("“%(key)s” is not a field of this kind of record.") % {"key": key})
        else:
            kind = kind or catalogue[key].kind
            if kind != catalogue[key].kind:
                error(
                    "kind",
                    _("%(field)s is a %(kind)s field.")
                    % {
                        "field": catalogue[key].label,
                        "kind": CriterionKind(catalogue[key].kind).label,
                    },
                )
            label = label or catalogue[key].label
        if not label:
            error("label", _("Enter a label."))
        if key in seen:
            error("field", _("Another criterion already scores this field."))
        seen.add(key)
        try:
            weight = Decimal(str(data.get("weight", 1)))
        except ArithmeticError:
            weight = Decimal(0)
        if not weight.is_finite() or weight < Decimal("0.01") or weight >= Decimal("1e6"):
            error("weight", _("The weight must be a positive number."))
        if kind not in CriterionKind.values:
            error("kind", _("Choose number or choice."))
        else:
            try:
                thresholds = normalize_thresholds(
                    kind, data.get("thresholds"), max_points=float(model.max_points)
                )
            except ValidationError as exc:
                for message in exc.messages:
                    error("thresholds", message)
                thresholds = None
        if f"criteria.{index}.field" not in errors and f"criteria.{index}.weight" not in errors:
            rows.append(
                Criterion(
                    field=key,
                    label=label[:100],
                    weight=weight.quantize(Decimal("0.01")),
                    kind=kind,
                    thresholds=thresholds,
                    order=index,
                )
            )
    if errors:
        raise ValidationError(errors)
    return rows


def _save_criteria(model: ScoringModel, criteria: Sequence[dict]) -> None:
    """Replace the model's criteria; a criterion keeps its id while its field stays."""
    rows = _criteria_rows(model, criteria)
    existing = {c.field: c.pk for c in model.criteria.all()}
    for row in rows:
        row.pk = existing.get(row.field)
        row.model = model
        row.save()
    model.criteria.exclude(pk__in=[r.pk for r in rows]).delete()


def _criteria_as_dicts(model: ScoringModel) -> list[dict]:
    return [
        {
            "field": c.field,
            "label": c.label,
            "weight": c.weight,
            "kind": c.kind,
            "thresholds": c.thresholds,
        }
        for c in model.criteria.all()
    ]


def _clean_model(model: ScoringModel) -> None:
    try:
        model.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


@transaction.atomic
def scoring_model_create(
    *,
    actor: User | None,
    name: str,
    target: str,
    criteria: Sequence[dict],
    description: str = "",
    max_points: int = 10,
    grades: list | None = None,
) -> ScoringModel:
    """A new (inactive) scoring model with its criteria."""
    _require_admin(actor)
    model = ScoringModel(
        name=name,
        target=target,
        description=description,
        max_points=max_points,
        grades=grades if grades is not None else ScoringModel._meta.get_field("grades").default(),
        created_by=actor,
    )
    _clean_model(model)
    model.save()
    _save_criteria(model, criteria)
    return model


@transaction.atomic
def scoring_model_update(
    *, actor: User | None, model: ScoringModel, criteria: Sequence[dict] | None = None, **changes
) -> ScoringModel:
    """Change name, description, maximum points, grades and (all) criteria. The target stays:
    the criteria's fields depend on it."""
    _require_admin(actor)
    if "target" in changes and changes.pop("target") != model.target:
        raise ValidationError({"target": [_("The target cannot change; create a new model.")]})
    allowed = {"name", "description", "max_points", "grades"}
    for name, value in changes.items():
        if name not in allowed:
            raise ValueError(name)
        setattr(model, name, value)
    _clean_model(model)
    model.save()
    try:
        _save_criteria(model, criteria if criteria is not None else _criteria_as_dicts(model))
    except ValidationError as exc:
        if criteria is None:  # the stored criteria no longer fit the new maximum
            raise ValidationError(
                {"max_points": [_("Some criteria give more points than this maximum.")]}
            ) from None
        raise exc
    return model


def _clear_primary_scores(model: ScoringModel) -> None:
    """The customers' (or leads') score and grade came from this primary model, which stops
    being primary: clear them rather than show a score no active model stands behind."""
    if not model.is_primary or model.target not in PRIMARY_TARGETS:
        return
    if model.target == ScoringTarget.LEAD:
        Lead.objects.filter(score__isnull=False).update(score=None, grade="", scored_at=None)
    else:
        Party.objects.filter(score__isnull=False).update(score=None, grade="")


@transaction.atomic
def scoring_model_delete(*, actor: User | None, model: ScoringModel) -> None:
    _require_admin(actor)
    _clear_primary_scores(model)
    model.delete()


@transaction.atomic
def scoring_model_set_active(
    *, actor: User | None, model: ScoringModel, active: bool
) -> ScoringModel:
    """Activate (applied nightly from now on) or deactivate (which also ends primary)."""
    _require_admin(actor)
    if active and not model.criteria.exists():
        raise ValidationError(_("Add criteria before activating the model."))
    model.is_active = active
    if active:
        model.activated_at = timezone.now()
    else:
        _clear_primary_scores(model)
        model.is_primary = False
    model.save(update_fields=["is_active", "is_primary", "activated_at", "updated_at"])
    return model


@transaction.atomic
def scoring_model_make_primary(*, actor: User | None, model: ScoringModel) -> ScoringModel:
    """Make this the model whose score and grade the customers (or leads) show; activates it."""
    _require_admin(actor)
    if model.target not in PRIMARY_TARGETS:
        raise ValidationError(_("Only customer and lead models can be primary."))
    if not model.criteria.exists():
        raise ValidationError(_("Add criteria before activating the model."))
    ScoringModel.objects.filter(target=model.target, is_primary=True).exclude(pk=model.pk).update(
        is_primary=False
    )
    model.is_primary = True
    if not model.is_active:
        model.is_active = True
        model.activated_at = timezone.now()
    model.save(update_fields=["is_active", "is_primary", "activated_at", "updated_at"])
    # The records show this model's score from now on, not the previous primary's.
    apply_model(model)
    return model


def scoring_model_apply(
    *, actor: User | None, model: ScoringModel, now: dt.datetime | None = None
) -> dict:
    """Apply the model now (administrators), as the nightly run does."""
    _require_admin(actor)
    return apply_model(model, now=now)


def _clean_option(option: UtilityOption) -> None:
    values = option.values if isinstance(option.values, dict) else None
    if values is None:
        raise ValidationError({"values": [_("Give the values as an object.")]})
    errors = {}
    if not option.name.strip():
        errors["name"] = [_("Enter a name.")]
    for key, value in values.items():
        if not OPTION_KEY.match(str(key)):
            errors.setdefault("values", []).append(
                _("“%(key)s” is not a valid key.") % {"key": key}
            )
        elif value is not None and not isinstance(value, str | int | float):
            errors.setdefault("values", []).append(
                _("%(key)s: enter a number or a text.") % {"key": key}
            )
    if errors:
        raise ValidationError(errors)
    option.values = {k: v for k, v in values.items() if v not in (None, "")}


@transaction.atomic
def utility_option_create(
    *, actor: User | None, model: ScoringModel, name: str, description: str = "", values=None
) -> UtilityOption:
    """Add an option to a utility-value analysis."""
    _require_admin(actor)
    if model.target != ScoringTarget.OPTION:
        raise ValidationError(_("Only utility-value analyses have options."))
    option = UtilityOption(
        model=model, name=name.strip(), description=description, values=values or {}
    )
    _clean_option(option)
    option.save()
    return option


@transaction.atomic
def utility_option_update(*, actor: User | None, option: UtilityOption, **changes) -> UtilityOption:
    _require_admin(actor)
    for name, value in changes.items():
        if name not in {"name", "description", "values"}:
            raise ValueError(name)
        setattr(option, name, value.strip() if name == "name" else value)
    _clean_option(option)
    option.save()
    return option


@transaction.atomic
def utility_option_delete(*, actor: User | None, option: UtilityOption) -> None:
    _require_admin(actor)
    option.delete()
