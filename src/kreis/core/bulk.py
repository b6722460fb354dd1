"""One bulk-action mechanism for every list (parties, leads, deals, activities, transactions):
assign an owner, add a tag, delete after a confirmation step, or a record type's own action
(activities: mark done), on the ticked records, all or nothing.

An app describes what its records offer once, beside its services (``BulkActions``: which
service assigns, which deletes, whether the records carry tags, which actions of their own);
``records_bulk_apply`` is the one service that applies any of them and ``bulk_view`` the one
view behind every list's bulk form, so the checks, the confirmation page and the messages are
the same on every list and a new list gets them by describing its records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.models import User
from kreis.core.queries import user_list_for_user
from kreis.core.web import bulk_ids, parse_id, safe_next

# service(actor=, record=, owner=) — the app's single-record service, with its checks and history
Assign = Callable[..., Any]
# service(actor=, record=)
Delete = Callable[..., Any]
# service(actor=, record=) -> whether the record changed (False: skipped, not counted)
Own = Callable[..., bool]


@dataclass(frozen=True)
class BulkActions:
    """The bulk actions one kind of record offers, each done by the single-record services."""

    assign_owner: Assign
    delete: Delete
    tags: bool = False  # "add_tag": the records have a ``tags`` many-to-many field
    # The record type's own actions: name → (label, service), e.g. activities' "mark_done".
    own: Mapping[str, tuple[str | Promise, Own]] = field(default_factory=dict)
    confirm_template: str = "core/bulk_confirm.html"

    @property
    def names(self) -> tuple[str, ...]:
        return ("assign_owner", *(("add_tag",) if self.tags else ()), *self.own, "delete")

    def bar(self, *, url: str, owners: Iterable[User]) -> dict[str, Any]:
        """The context of the list's bulk bar (``core/_bulk_bar.html``)."""
        return {
            "bulk_url": url,
            "bulk_tags": self.tags,
            "bulk_owners": owners,
            "bulk_extra": [(name, label) for name, (label, _service) in self.own.items()],
        }


def _add_tag(records: list[models.Model], tag: str) -> None:
    """Add one tag (found case-insensitively, else created) to each record; their other tags
    stay. Each record is saved, so its history shows when it was tagged."""
    name = tag.strip()[:50]
    if not name:
        raise ValidationError({"tag": _("Enter the tag to add.")})
    tag_model = records[0]._meta.get_field("tags").related_model
    tag_obj = tag_model.objects.filter(name__iexact=name).first() or tag_model.objects.create(
        name=name
    )
    for record in records:
        record.tags.add(tag_obj)  # type: ignore[attr-defined]
        record.save(update_fields=["updated_at"])


@transaction.atomic
def records_bulk_apply(
    *,
    actor: User | None,
    records: Iterable[models.Model],
    actions: BulkActions,
    action: str,
    owner: User | None = None,
    tag: str = "",
) -> int:
    """One action on many records, all or nothing: a record the actor may not change, an owner
    they may not assign or any other refusal of a single-record service stops the whole action
    and nothing is written. Returns how many records changed."""
    records = list(records)
    if action not in actions.names:
        raise ValidationError({"action": _("Unknown action.")})
    if actor is not None and not all(actor.has_perm("core.change_record", r) for r in records):
        raise PermissionDenied
    if not records:
        return 0
    if action == "assign_owner":
        if owner is None:
            raise ValidationError({"owner": _("Choose the new owner.")})
        for record in records:
            actions.assign_owner(actor=actor, record=record, owner=owner)
        return len(records)
    if action == "add_tag":
        _add_tag(records, tag)
        return len(records)
    if action == "delete":
        for record in records:
            actions.delete(actor=actor, record=record)
        return len(records)
    _label, service = actions.own[action]
    return sum(1 for record in records if service(actor=actor, record=record))


def bulk_view(
    *,
    actions: BulkActions,
    records: Callable[..., list],
    list_url: str,
) -> Callable[[HttpRequest], HttpResponse]:
    """The view behind a list's bulk form: the ticked ``ids`` that ``records(user=, ids=)``
    finds (the app's permission-aware query), the action, the new owner or the tag; deleting
    shows a confirmation page first. Read-only users are refused (403)."""

    @login_required
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        if request.user.is_read_only:
            raise PermissionDenied
        target = safe_next(request, reverse(list_url))
        chosen = records(user=request.user, ids=bulk_ids(request))
        action = request.POST.get("action", "")
        if not chosen:
            messages.warning(request, _("Select at least one record."))
            return redirect(target)
        if action == "delete" and not request.POST.get("confirmed"):
            return render(request, actions.confirm_template, {"records": chosen, "next": target})
        owner = None
        if action == "assign_owner" and (owner_id := parse_id(request.POST.get("owner"))):
            owner = user_list_for_user(user=request.user).filter(pk=owner_id).first()
        try:
            count = records_bulk_apply(
                actor=request.user,
                records=chosen,
                actions=actions,
                action=action,
                owner=owner,
                tag=request.POST.get("tag", ""),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except PermissionDenied:
            messages.error(
                request, _("You may not change all of the selected records; nothing was changed.")
            )
        else:
            messages.success(request, _("%(n)d records changed.") % {"n": count})
        return redirect(target)

    return view
