"""The approvals inbox: sales managers decide discount requests above a rep's limit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.pricing.quotes import queries, services
from kreis.sales.models import DealLine


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Pending requests first, then the decided history (managers: all; reps: their own)."""
    all_ = queries.approval_list_for_user(user=request.user)
    # A request about the deal's own lines lists them (with their products).
    pending = list(
        all_.filter(status="requested").prefetch_related(
            Prefetch("deal__lines", DealLine.objects.select_related("product"))
        )
    )
    decided = list(all_.exclude(status="requested")[:100])
    # Links only to the quotes and deals the viewer may open (a fallback sales manager sees
    # requests on deals she cannot see; once decided by another, their quotes are closed to her).
    queries.approvals_with_links(user=request.user, approvals=pending + decided)
    return render(
        request,
        "pricing/approvals.html",
        {
            "pending": pending,
            "decided": decided,
            "can_decide": request.user.has_perm("pricing.manage"),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = queries.approval_get_for_user(user=request.user, pk=pk, write=True)
    try:
        services.approval_decide(
            actor=request.user,
            approval=approval,
            approve=request.POST.get("decision") == "approve",
            note=request.POST.get("decision_note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Decision saved; the rep is notified."))
    return redirect("pricing:approvals")
