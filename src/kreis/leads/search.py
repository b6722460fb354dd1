"""How a lead appears in the global search: name, company, e-mail, phone, notes."""

from __future__ import annotations

from django.urls import reverse

from kreis.core.search import SearchDocument
from kreis.leads.models import Lead


def lead_document(lead: Lead) -> SearchDocument | None:
    if lead.deleted_at is not None:
        return None
    phone = lead.phone or ""
    text = " ".join(
        [
            lead.first_name,
            lead.last_name,
            lead.company,
            lead.email,
            phone,
            phone[3:] if phone.startswith("+49") else "",
            lead.external_id or "",
            lead.notes[:1000],
        ]
    )
    return SearchDocument(
        title=lead.full_name or lead.company,
        subtitle=" · ".join(x for x in (lead.company, lead.get_status_display()) if x),
        url=reverse("leads:detail", args=[lead.pk]),
        icon="funnel",
        text=text,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
    )


def all_leads():
    return Lead.objects.filter(deleted_at__isnull=True).order_by("pk").iterator(chunk_size=2000)
