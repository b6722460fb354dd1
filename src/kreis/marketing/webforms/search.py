"""How a web form appears in the global search: its name, address, heading and lead source.
Found by its owner and administrators (search entries are shared by owner and team; a form
has no team)."""

from __future__ import annotations

from django.urls import reverse

from kreis.core.search import SearchDocument, register_indexer
from kreis.marketing.models import LeadForm

ENTITY = "lead_form"


def form_document(form: LeadForm) -> SearchDocument | None:
    return SearchDocument(
        title=form.name,
        subtitle=f"/f/{form.key}/",
        url=reverse("marketing:webforms:detail", args=[form.pk]),
        icon="ui-checks",
        text=" ".join([form.name, form.key, form.title, form.lead_source]),
        owner_id=form.owner_id,
        team_id=None,
    )


def all_forms():
    return LeadForm.objects.order_by("pk").iterator(chunk_size=2000)


def register() -> None:
    register_indexer(ENTITY, LeadForm, form_document, all_records=all_forms)
