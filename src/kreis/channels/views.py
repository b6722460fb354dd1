"""Channel preferences on the party page: the panel (what is set, the latest changes) and
the edit page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kreis.channels import queries, services
from kreis.channels.forms import PreferenceForm
from kreis.channels.rules import CHANGE
from kreis.core.web import apply_errors
from kreis.parties.queries import party_get_for_user


@login_required
def party_panel(request: HttpRequest, pk: int) -> HttpResponse:
    party = party_get_for_user(user=request.user, pk=pk, related=False)
    return render(
        request,
        "channels/_party_panel.html",
        {
            "party": party,
            "pref": queries.preferences_for_party(party),
            "history": queries.preference_history(party, limit=3),
            "can_edit": request.user.has_perm(CHANGE, party),
        },
    )


@login_required
def preference_edit(request: HttpRequest, pk: int) -> HttpResponse:
    party = party_get_for_user(user=request.user, pk=pk, write=True, related=False)
    pref = queries.preferences_for_party(party)
    form = PreferenceForm.for_preference(pref, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_update(actor=request.user, party=party, **form.service_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Channel preferences saved."))
            return redirect("parties:detail", party.pk)
    return render(
        request,
        "channels/edit.html",
        {
            "party": party,
            "pref": pref,
            "form": form,
            "history": queries.preference_history(party),
        },
    )
