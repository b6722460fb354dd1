"""Processing a complaint (DOMAIN.md §5, direct process): tasks on a case, forwarding to a
supplier, and the costs of a case.

Permission: whoever may change the case (``service.change_case``) may add and change its
tasks, supplier requests and costs; the services below check it themselves, so every door
(pages, API, CLI) gets the same rule.

- A **task** is an activity of kind task on the case's customer (``kreis.activities``), linked
  by a ``CaseTask``; it shows on its assignee's My day as any task does. Its team is the
  case's team, so the colleagues who handle the case see it too.
- A **supplier request** sends the case to a party with the supplier role by e-mail (in the
  supplier's language where it can be told from the country of their address, else the
  sender's), records the request and an internal note; the supplier's answer is recorded
  later (when, by whom), and noted on the case as well.
- A **cost** is goodwill or a replacement (an amount) or handling time (hours × the hourly
  rate, ``ServiceSettings.hourly_rate`` unless given; the rate is kept on the row). Each cost
  is the customer's CM III cost entry (level relationship, category complaint) — created,
  changed and deleted with it in the same transaction, so the contribution margin counts it
  at once, like a cost entry entered by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.activities.models import ActivityKind
from kreis.activities.services import activity_complete, activity_create, activity_reopen
from kreis.core.models import User
from kreis.core.services import check_assignment
from kreis.parties.models import Address, ContactKind, ContactPoint, Party, PartyRole
from kreis.service.mail import render_mail
from kreis.service.models import (
    Case,
    CaseCost,
    CaseMessage,
    CaseTask,
    CostKind,
    MessageKind,
    ServiceSettings,
    SupplierRequest,
    SupplierRequestStatus,
)

# The CM III cost entry a case cost becomes (kreis.analytics.margin: CostLevel.RELATIONSHIP,
# CostCategory.COMPLAINT). Named as strings: a domain app does not import the analytics layer.
COST_LEVEL = "relationship"
COST_CATEGORY = "complaint"
CENT = Decimal("0.01")
# Countries whose suppliers are written to in German.
GERMAN_SPEAKING = {"DE", "AT", "CH", "LI", "LU"}


def _check_change(actor: User | None, case: Case) -> None:
    if actor is not None and not actor.has_perm("service.change_case", case):
        raise PermissionDenied


def _internal_note(actor: User | None, case: Case, body: str) -> CaseMessage:
    return CaseMessage.objects.create(
        case=case, kind=MessageKind.INTERNAL_NOTE, author=actor, body=body.strip()
    )


# --- Tasks ----------------------------------------------------------------------------------


def _check_assignee(actor: User | None, case: Case, assignee: User) -> None:
    """The assignee: the actor, a member of the case's team (who handle it together), or
    whom ``check_assignment`` lets the actor give records to."""
    if not assignee.is_active:
        raise ValidationError({"assignee_id": _("This user is inactive.")})
    if actor is None or assignee.pk == actor.pk:
        return
    if case.team_id and assignee.memberships.filter(team_id=case.team_id).exists():
        return
    try:
        check_assignment(actor=actor, owner=assignee, team=None)
    except ValidationError as exc:
        raise ValidationError(
            {"assignee_id": _("Assign the task to yourself or to a member of the case's team.")}
        ) from exc


def _due(value: dt.datetime | dt.date | None) -> dt.datetime:
    if value is None:
        raise ValidationError({"due_at": _("A task needs a due date.")})
    if not isinstance(value, dt.datetime):  # a day: due at the end of the business day
        value = dt.datetime.combine(value, dt.time(17, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


@transaction.atomic
def case_task_create(
    *,
    actor: User | None,
    case: Case,
    title: str,
    due_at: dt.datetime | dt.date | None,
    assignee: User | None = None,
    details: str = "",
) -> CaseTask:
    """A task on the case: an activity of kind task on the case's customer, assigned to
    ``assignee`` (default: the actor) in the case's team, linked to the case."""
    _check_change(actor, case)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Enter a title.")})
    assignee = assignee or actor
    if assignee is not None:
        _check_assignee(actor, case, assignee)
    # The case permission stands in for the customer's record rule: an agent handles a
    # complaint of a customer whose record they may not open (kreis.service.rules).
    activity = activity_create(
        actor=None,
        kind=ActivityKind.TASK,
        party=case.party,
        owner=assignee,
        team=case.team,
        subject=f"{case.number}: {title}"[:200],
        body=details,
        occurred_at=_due(due_at),
    )
    if actor is not None:
        activity.created_by = actor
        activity.save(update_fields=["created_by"])
    return CaseTask.objects.create(case=case, activity=activity)


@transaction.atomic
def case_task_set_done(*, actor: User | None, task: CaseTask, done: bool = True) -> CaseTask:
    """Mark the case's task done (or open again)."""
    _check_change(actor, task.case)
    if done:
        activity_complete(actor=None, activity=task.activity)
    else:
        activity_reopen(actor=None, activity=task.activity)
    return task


# --- Supplier requests ----------------------------------------------------------------------


def is_supplier(party: Party) -> bool:
    return party.role_assignments.filter(role=PartyRole.SUPPLIER).exists()


def suppliers():
    """Every party with the supplier role (the company's suppliers, not anyone's customers:
    whoever handles a case may forward it to any of them)."""
    return (
        Party.objects.filter(deleted_at__isnull=True, role_assignments__role=PartyRole.SUPPLIER)
        .distinct()
        .order_by("name", "pk")
    )


def supplier_email(party: Party) -> str:
    return (
        ContactPoint.objects.filter(party=party, kind=ContactKind.EMAIL)
        .order_by("-is_primary", "pk")
        .values_list("value", flat=True)
        .first()
        or ""
    )


def supplier_language(party: Party, fallback: str) -> str:
    """German for a supplier whose (primary) address is in a German-speaking country, English
    for one elsewhere; ``fallback`` (the sender's language) when there is no address."""
    country = (
        Address.objects.filter(party=party)
        .order_by("-is_primary", "pk")
        .values_list("country", flat=True)
        .first()
    )
    if not country:
        return fallback if fallback in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    return "de" if country.upper() in GERMAN_SPEAKING else "en"


def default_supplier_message(case: Case) -> str:
    """The text a forwarding starts with: what the case is about."""
    lines = [f"{case.number}: {case.subject}"]
    if case.product_id:
        lines.append(_("Product: %s") % case.product)
    if case.description:
        lines += ["", case.description]
    lines += ["", _("Please check this complaint and tell us how you will resolve it.")]
    return "\n".join(lines)


@transaction.atomic
def supplier_request_create(
    *, actor: User | None, case: Case, supplier: Party, message: str
) -> SupplierRequest:
    """Forward the case to a supplier: an e-mail to the supplier's address (after the commit;
    none when they have no address — the request is recorded, to be sent another way), the
    request itself, and an internal note on the case."""
    _check_change(actor, case)
    if supplier.deleted_at is not None or not is_supplier(supplier):
        if actor is None or actor.has_perm("core.view_record", supplier):
            text = _("%s is not a supplier: give the party the supplier role first.")
            raise ValidationError({"supplier_id": text % supplier.name})
        # Not a supplier, and a party the actor may not see: its name stays unsaid.
        raise ValidationError({"supplier_id": _("This party is not a supplier.")})
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": _("Write the message to the supplier.")})
    to = supplier_email(supplier)
    request = SupplierRequest.objects.create(
        case=case, supplier=supplier, message=message, sent_to=to, sent_by=actor
    )
    fallback = (actor.language if actor else "") or settings.LANGUAGE_CODE
    context = {"case": case, "request": request, "supplier": supplier}
    # An administrator's wording first (kreis.service.mailtemplates), else the shipped one.
    subject, body = render_mail("supplier_request", context, supplier_language(supplier, fallback))
    if to:
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
        )
        note = _("Forwarded to the supplier %(supplier)s (%(to)s):") % {
            "supplier": supplier.name,
            "to": to,
        }
    else:
        note = _("Forwarded to the supplier %(supplier)s (no e-mail address: not sent):") % {
            "supplier": supplier.name
        }
    _internal_note(actor, case, f"{note}\n{message}")
    return request


def _open_request(request: SupplierRequest) -> None:
    if request.status != SupplierRequestStatus.OPEN:
        raise ValidationError(
            {"status": _("This request is no longer open (%s).") % request.get_status_display()}
        )


@transaction.atomic
def supplier_request_answer(
    *, actor: User | None, request: SupplierRequest, answer: str
) -> SupplierRequest:
    """Record the supplier's answer (when, by whom); the case gets an internal note."""
    _check_change(actor, request.case)
    request = SupplierRequest.objects.select_for_update().get(pk=request.pk)
    _open_request(request)
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": _("Write down the supplier's answer.")})
    request.answer = answer
    request.answered_at = timezone.now()
    request.answer_recorded_by = actor
    request.status = SupplierRequestStatus.ANSWERED
    request.save()
    note = _("The supplier %s answered:") % request.supplier.name
    _internal_note(actor, request.case, f"{note}\n{answer}")
    return request


@transaction.atomic
def supplier_request_withdraw(*, actor: User | None, request: SupplierRequest) -> SupplierRequest:
    """No answer is needed any more (the case was solved another way)."""
    _check_change(actor, request.case)
    request = SupplierRequest.objects.select_for_update().get(pk=request.pk)
    _open_request(request)
    request.status = SupplierRequestStatus.WITHDRAWN
    request.save(update_fields=["status"])
    _internal_note(
        actor, request.case, _("Request to the supplier %s withdrawn.") % request.supplier.name
    )
    return request


# --- Costs ----------------------------------------------------------------------------------


def _decimal(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({field: _("Enter a number.")}) from exc
    if not number.is_finite():
        raise ValidationError({field: _("Enter a number.")})
    if number < 0:
        raise ValidationError({field: _("Costs cannot be negative.")})
    return number


def _cost_values(
    *, kind: str, amount, hours, hourly_rate, date: dt.date | None
) -> dict[str, object]:
    """Validated values of a cost: an amount for goodwill and replacement; hours × rate for
    handling (the rate of the settings unless given)."""
    if kind not in CostKind.values:
        raise ValidationError({"kind": _("Unknown kind of cost.")})
    amount, hours, hourly_rate = (
        _decimal(amount, "amount"),
        _decimal(hours, "hours"),
        _decimal(hourly_rate, "hourly_rate"),
    )
    if kind == CostKind.HANDLING:
        if not hours:
            raise ValidationError({"hours": _("Handling time needs the hours spent.")})
        if hourly_rate is None:
            hourly_rate = ServiceSettings.load().hourly_rate
        amount = (hours * hourly_rate).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        if hours is not None or hourly_rate is not None:
            raise ValidationError({"hours": _("Hours apply only to handling time.")})
        if amount is None:
            raise ValidationError({"amount": _("Enter the amount.")})
        amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "kind": kind,
        "amount": amount,
        "hours": hours,
        "hourly_rate": hourly_rate,
        "date": date or timezone.localdate(),
    }


def _entry_note(cost: CaseCost) -> str:
    text = _("Complaint %(number)s: %(kind)s") % {
        "number": cost.case.number,
        "kind": cost.get_kind_display(),
    }
    return f"{text} – {cost.note}"[:500] if cost.note else text


def _sync_entry(actor: User | None, cost: CaseCost) -> None:
    """The customer's CM III cost entry, as the cost says (made anew if it was deleted)."""
    model = apps.get_model("analytics", "CostEntry")
    entry = cost.cost_entry or model(party=cost.case.party, created_by=actor)
    entry.date = cost.date
    entry.level = COST_LEVEL
    entry.category = COST_CATEGORY
    entry.amount = cost.amount
    entry.note = _entry_note(cost)
    entry.full_clean()
    entry.save()
    if cost.cost_entry_id != entry.pk:
        cost.cost_entry = entry
        cost.save(update_fields=["cost_entry"])


@transaction.atomic
def case_cost_create(
    *,
    actor: User | None,
    case: Case,
    kind: str,
    amount=None,
    hours=None,
    hourly_rate=None,
    date: dt.date | None = None,
    note: str = "",
) -> CaseCost:
    """Record a cost of the case and the customer's CM III cost entry with it."""
    _check_change(actor, case)
    values = _cost_values(kind=kind, amount=amount, hours=hours, hourly_rate=hourly_rate, date=date)
    cost = CaseCost(case=case, note=(note or "").strip(), created_by=actor, **values)
    cost.full_clean(exclude=["case", "cost_entry", "created_by"])
    cost.save()
    _sync_entry(actor, cost)
    return cost


@transaction.atomic
def case_cost_update(
    *,
    actor: User | None,
    cost: CaseCost,
    kind: str | None = None,
    amount=None,
    hours=None,
    hourly_rate=None,
    date: dt.date | None = None,
    note: str | None = None,
) -> CaseCost:
    """Change a cost; its cost entry follows. A handling cost keeps its stored hourly rate
    unless another is given (a later change of the settings does not reprice old costs)."""
    _check_change(actor, cost.case)
    kind = kind or cost.kind
    if kind == CostKind.HANDLING:
        hours = cost.hours if hours is None and kind == cost.kind else hours
        if hourly_rate is None and kind == cost.kind:
            hourly_rate = cost.hourly_rate
    elif amount is None and kind == cost.kind:
        amount = cost.amount
    values = _cost_values(
        kind=kind, amount=amount, hours=hours, hourly_rate=hourly_rate, date=date or cost.date
    )
    for field, value in values.items():
        setattr(cost, field, value)
    if note is not None:
        cost.note = note.strip()
    cost.full_clean(exclude=["case", "cost_entry", "created_by"])
    cost.save()
    _sync_entry(actor, cost)
    return cost


@transaction.atomic
def case_cost_delete(*, actor: User | None, cost: CaseCost) -> None:
    """Remove a cost and its cost entry: the customer's margin no longer counts it."""
    _check_change(actor, cost.case)
    entry = cost.cost_entry
    cost.delete()
    if entry is not None:
        entry.delete()


def case_cost_total(case: Case) -> Decimal:
    return CaseCost.objects.filter(case=case).aggregate(total=Sum("amount"))["total"] or Decimal(0)
