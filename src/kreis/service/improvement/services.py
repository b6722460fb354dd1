"""Writes of improvement actions (DOMAIN.md §5, information usage): measures against a root
cause, tracked to completion. Who may plan and change them: ``kreis.service.rules``."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.service.models import ActionStatus, ImprovementAction, RootCause

FIELDS = {"root_cause", "title", "description", "owner", "due_date", "status", "effective_on"}


def _validate(action: ImprovementAction) -> None:
    action.title = (action.title or "").strip()
    action.description = (action.description or "").strip()
    if not action.title:
        raise ValidationError({"title": _("Enter a title.")})
    if action.status not in ActionStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if action.owner is not None and not action.owner.is_active:
        raise ValidationError({"owner_id": _("This user is inactive.")})
    if action.status == ActionStatus.DONE and action.effective_on is None:
        # Done without a date: it takes effect today (the effect is measured from then).
        action.effective_on = timezone.localdate()
    action.full_clean(exclude=["root_cause", "owner"])


@transaction.atomic
def improvement_action_create(
    *,
    actor: User | None,
    root_cause: RootCause,
    title: str,
    description: str = "",
    owner: User | None = None,
    due_date: dt.date | None = None,
    status: str = ActionStatus.PLANNED,
    effective_on: dt.date | None = None,
) -> ImprovementAction:
    """Plan a measure against a root cause; its owner defaults to the actor."""
    if actor is not None and not actor.has_perm("service.add_improvementaction"):
        raise PermissionDenied
    action = ImprovementAction(
        root_cause=root_cause,
        title=title,
        description=description,
        owner=owner if owner is not None else actor,
        due_date=due_date,
        status=status,
        effective_on=effective_on,
    )
    _validate(action)
    action.save()
    return action


@transaction.atomic
def improvement_action_update(
    *, actor: User | None, action: ImprovementAction, **changes: object
) -> ImprovementAction:
    """Change an action; marking it done sets ``effective_on`` to today when it is empty."""
    if actor is not None and not actor.has_perm("service.change_improvementaction", action):
        raise PermissionDenied
    unknown = set(changes) - FIELDS
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(action, field, value)
    _validate(action)
    action.save()
    return action
