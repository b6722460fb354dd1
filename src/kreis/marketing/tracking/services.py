"""Website tracking with consent: what the snippet sends, and what follows from it.

Only a browser that consented ever reaches these functions: the snippet (``/t/kreis.js``)
creates its random visitor id at the moment of consent, and a visitor who sends Do Not Track
or Global Privacy Control is turned away before (in the snippet and again by ``/t/collect``).

- ``visits_record``: a batch of page visits of one visitor id (created on its first batch,
  with the time of consent); UTM parameters are read from each page's address.
- ``visitor_forget``: the visitor withdrew (``KreisTracking.revoke()``): the id, its visits
  and, if it had identified, its tracking consent end.
- ``visitor_link``: the visitor identified through a web form: the visitor and its earlier
  visits belong to that lead (or contact) from now on, and the consent it gave on the website
  becomes a ``Consent`` record (purpose tracking, channel web, basis "visitor's choice").
- ``visits_follow_conversion``: a converted lead's visits follow it to the new person.
- ``visits_purge``: visits older than ``visit_retention_days`` go (nightly job, CLI).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.utils import timezone

from kreis.leads.models import Lead
from kreis.marketing.consent import services as consent_services
from kreis.marketing.models import (
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    FormSubmission,
    MarketingSettings,
    PageVisit,
    Visitor,
)
from kreis.parties.models import Party

VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_VISITS_PER_BATCH = 50
# A visit's time as the browser reports it is believed within this window (a beacon sent
# late, a slow clock); anything else is stamped with the server's time.
CLIENT_TIME_PAST = dt.timedelta(hours=24)
CLIENT_TIME_FUTURE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class VisitIn:
    """One page visit as the snippet sends it."""

    url: str
    title: str = ""
    referrer: str = ""
    at: dt.datetime | None = None


def is_visitor_id(value: str) -> bool:
    return bool(VISITOR_ID.match(value or ""))


def page_fields(url: str) -> dict[str, str] | None:
    """The stored columns of a page address (path and UTM parameters), or None when it is no
    http(s) address."""
    url = (url or "").strip()[:1000]
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    query = parse_qs(parts.query)
    fields = {key: (query.get(key) or [""])[0][:200] for key in UTM_KEYS}
    return {"url": url, "path": (parts.path or "/")[:500], **fields}


def _visit_time(value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if value is None or not (now - CLIENT_TIME_PAST <= value <= now + CLIENT_TIME_FUTURE):
        return now
    return min(value, now)


def visits_record(
    *, uid: str, visits: list[VisitIn], consented_at: dt.datetime | None = None, now=None
) -> tuple[Visitor, int]:
    """Store a batch of page visits of the visitor ``uid`` (created on its first batch; its
    consent time is when the snippet says it consented, within the last day, else now).
    Visits of a linked visitor belong to its lead and contact at once. Returns the visitor
    and how many visits were stored (addresses that are no http(s) page are skipped)."""
    if not is_visitor_id(uid):
        raise ValueError("invalid visitor id")
    now = now or timezone.now()
    rows = []
    for visit in visits[:MAX_VISITS_PER_BATCH]:
        fields = page_fields(visit.url)
        if fields is None:
            continue
        rows.append(
            {
                **fields,
                "title": (visit.title or "").strip()[:300],
                "referrer": (visit.referrer or "").strip()[:1000],
                "at": _visit_time(visit.at, now),
            }
        )
    with transaction.atomic():
        visitor, created = Visitor.objects.select_for_update().get_or_create(
            uid=uid,
            defaults={
                "consented_at": _visit_time(consented_at, now),
                "first_seen": now,
                "last_seen": now,
            },
        )
        PageVisit.objects.bulk_create(
            PageVisit(visitor=visitor, lead_id=visitor.lead_id, party_id=visitor.party_id, **row)
            for row in rows
        )
        if rows and not created:
            Visitor.objects.filter(pk=visitor.pk).update(last_seen=now)
            visitor.last_seen = now
    return visitor, len(rows)


def visitor_forget(*, uid: str, now=None) -> bool:
    """The visitor withdrew its consent on the website: its id and every visit recorded under
    it are deleted, and a tracking consent it gave through a form is withdrawn (with an event
    in its history). Whether there was such a visitor."""
    now = now or timezone.now()
    with transaction.atomic():
        visitor = Visitor.objects.select_for_update().filter(uid=uid).first()
        if visitor is None:
            return False
        if visitor.lead_id or visitor.party_id:
            consents = consent_services.valid_consents(
                purpose=ConsentPurpose.TRACKING,
                channel=ConsentChannel.WEB,
                lead=visitor.lead,
                party=visitor.party,
            )
            for consent in consents:
                consent_services.withdraw(consent, via=consent_services.Via.LINK)
        visitor.delete()
    return True


def visitor_link(
    *,
    uid: str,
    lead: Lead | None = None,
    party: Party | None = None,
    submission: FormSubmission | None = None,
    language: str = "de",
) -> Visitor | None:
    """The visitor ``uid`` identified itself (a web form): it belongs to ``lead`` (and
    ``party``) now, and so do all its earlier visits; its website consent is recorded on the
    lead. None when no visitor has that id (it never consented, or it was purged)."""
    if lead is None and party is None:
        raise ValueError("visitor_link needs a lead or a party")
    if party is None and lead is not None and lead.converted_person_id:
        party = lead.converted_person
    with transaction.atomic():
        visitor = Visitor.objects.select_for_update().filter(uid=uid).first()
        if visitor is None:
            return None
        visitor.lead = lead
        visitor.party = party
        visitor.save(update_fields=["lead", "party"])
        PageVisit.objects.filter(visitor=visitor).update(lead=lead, party=party)
        # The choice made on the website, now on the record of who made it (once: an
        # existing granted tracking consent is kept).
        consent_services.request_consent(
            purpose=ConsentPurpose.TRACKING,
            channel=ConsentChannel.WEB,
            email=lead.email if lead is not None else "",
            language=language,
            source=ConsentSource.FORM,
            lead=lead,
            party=party,
            ip=getattr(submission, "ip_address", None),
            user_agent=getattr(submission, "user_agent", ""),
            note=f"Given on the website {visitor.consented_at:%Y-%m-%d %H:%M} UTC",
        )
    return visitor


def visits_follow_conversion(*, lead: Lead) -> int:
    """A lead converted to a person: its visitors and visits belong to that person as well
    (the lead keeps them too, for its own page). How many visits moved."""
    person_id = lead.converted_person_id
    if person_id is None:
        return 0
    with transaction.atomic():
        Visitor.objects.filter(lead=lead).exclude(party_id=person_id).update(party_id=person_id)
        return (
            PageVisit.objects.filter(lead=lead)
            .exclude(party_id=person_id)
            .update(party_id=person_id)
        )


def visits_purge(*, now=None, retention_days: int | None = None) -> dict[str, int]:
    """Delete the page visits older than the retention period (``visit_retention_days`` of
    the settings), and the anonymous visitors left without any visit and unseen for as long.
    Visitors linked to a lead or contact stay (their link is the lead's business)."""
    now = now or timezone.now()
    days = retention_days or MarketingSettings.load().visit_retention_days
    cutoff = now - dt.timedelta(days=days)
    with transaction.atomic():
        visits = PageVisit.objects.filter(at__lt=cutoff).delete()[0]
        visitors = (
            Visitor.objects.filter(
                last_seen__lt=cutoff, lead__isnull=True, party__isnull=True, visits__isnull=True
            )
            .delete()[1]
            .get(Visitor._meta.label, 0)
        )
    return {"visits": visits, "visitors": visitors, "retention_days": days}
