"""Web forms in the global search: by name, address (key), heading or lead source, for
everyone who sees lead management (``marketing.view``) — whoever owns the form — and for
nobody else, as on the forms' pages. A search provider like the campaigns' and segments',
not entries of the search index (whose owner/team rule showed a form to its owner and
administrators only)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from kreis.core.models import User
from kreis.core.search import SearchHit
from kreis.marketing.models import LeadForm


def lead_form_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    text = text.strip()
    if len(text) < 2 or not user.has_perm("marketing.view"):
        return []
    forms = LeadForm.objects.filter(
        Q(name__icontains=text)
        | Q(key__icontains=text)
        | Q(title__icontains=text)
        | Q(lead_source__icontains=text)
    ).only("pk", "name", "key")
    return [
        SearchHit(
            title=form.name,
            subtitle=f"/f/{form.key}/",
            url=reverse("marketing:webforms:detail", args=[form.pk]),
            icon="ui-checks",
            entity="lead_form",
            object_id=form.pk,
        )
        for form in forms.order_by("name", "pk")[:limit]
    ]
