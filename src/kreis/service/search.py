"""How a case appears in the global search: number, subject and the customer's name."""

from __future__ import annotations

from django.urls import reverse

from kreis.core.search import SearchDocument, seen_by_the_same
from kreis.service.models import Case


def case_document(case: Case) -> SearchDocument | None:
    # The customer's name only where everyone who finds the case may see the customer too.
    party_name = case.party.name if seen_by_the_same(case, case.party) else ""
    return SearchDocument(
        title=f"{case.number} {case.subject}",
        subtitle=" · ".join(x for x in (party_name, case.get_status_display()) if x),
        url=reverse("service:detail", args=[case.pk]),
        icon="exclamation-octagon",
        text=" ".join([case.number, case.subject, party_name]),
        owner_id=case.owner_id,
        team_id=case.team_id,
    )


def all_cases():
    return Case.objects.select_related("party").order_by("pk").iterator(chunk_size=2000)
