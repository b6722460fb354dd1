"""Automatic follow-ups: the next relevant offer, sent on its own when a lead shows interest.

A ``FollowUpRule`` fires for a lead when

- *score*: the lead's rule score (``Lead.score``, 0–100) is at least ``min_score`` — once per
  rule and lead;
- *visits*: the lead visited pages whose path contains ``path_contains`` at least
  ``visit_count`` times within the last ``within_days`` days — counting only visits after the
  rule's previous follow-up to the lead, so the next offer needs new interest (three more
  visits), not the same three again.

What is sent is the *next relevant offer* the lead has not received: among the active offers
of the rule's offer's topic (all offers when it has none) in the lead's language (else the
offer's), ordered by their order, the first one starting at the rule's offer that the lead
neither downloaded after a form nor was sent before. Each offer goes to a lead at most once
(``FollowUpSent``, unique per offer and lead), at most one follow-up per lead and run, and
only with a valid marketing consent of the lead by e-mail: the mail goes through
``kreis.marketing.consent.services.send_marketing_mail``, which refuses without one and adds
the unsubscribe link and ``List-Unsubscribe``.

The job runs every 15 minutes (``kreis.marketing.offers.tasks``), after each batch of page
visits of an identified visitor, and by ``kreis marketing offers follow-ups [--dry-run]``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.consent import services as consent_services
from kreis.marketing.models import (
    ConsentChannel,
    ConsentPurpose,
    ContentDownload,
    ContentOffer,
    FollowUpRule,
    FollowUpSent,
    FollowUpTrigger,
)
from kreis.marketing.offers import services
from kreis.marketing.tracking.queries import visit_counts

log = logging.getLogger("kreis.marketing.offers")

OPEN = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


@dataclass
class Planned:
    """One follow-up due: which rule, which lead, which offer, and why."""

    rule: FollowUpRule
    lead: Lead
    offer: ContentOffer
    reason: str
    sent: bool = False
    refused: str = ""  # why it was not sent (no consent, no address)


def _candidates(rule: FollowUpRule) -> dict[str, list[ContentOffer]]:
    """The offers a rule may send, per language, in order, starting at the rule's offer."""
    start = rule.offer
    offers = ContentOffer.objects.filter(is_active=True).order_by("position", "pk")
    if start.topic:
        offers = offers.filter(topic=start.topic)
    by_language: dict[str, list[ContentOffer]] = {}
    for offer in offers:
        if (offer.position, offer.pk) >= (start.position, start.pk):
            by_language.setdefault(offer.language, []).append(offer)
    return by_language


def _received(lead_ids: list[int]) -> dict[int, set[int]]:
    got: dict[int, set[int]] = {}
    for lead_id, offer_id in ContentDownload.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "offer_id"
    ):
        got.setdefault(lead_id, set()).add(offer_id)
    for lead_id, offer_id in FollowUpSent.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "offer_id"
    ):
        got.setdefault(lead_id, set()).add(offer_id)
    return got


def _leads_for(rule: FollowUpRule, *, lead_ids, now) -> dict[int, str]:
    """Lead id → the reason the rule fires for it."""
    leads = Lead.objects.filter(deleted_at__isnull=True, status__in=OPEN)
    if lead_ids is not None:
        leads = leads.filter(pk__in=list(lead_ids))
    previous = FollowUpSent.objects.filter(rule=rule)
    if rule.trigger == FollowUpTrigger.SCORE:
        if rule.min_score is None:
            return {}
        done = set(previous.values_list("lead_id", flat=True))
        rows = leads.filter(score__gte=rule.min_score).values_list("pk", "score")
        return {
            pk: _("Score %(score)s reached %(min)s")
            % {"score": f"{score:g}", "min": f"{rule.min_score:g}"}
            for pk, score in rows
            if pk not in done
        }
    since = now - dt.timedelta(days=rule.within_days)
    counts = visit_counts(
        lead_ids=leads.values_list("pk", flat=True),
        since=since,
        path_contains=[rule.path_contains],
    )
    counts = {pk: n for pk, n in counts.items() if n >= rule.visit_count}
    if not counts:
        return {}
    # Visits after the rule's last follow-up to a lead only: new interest for the next offer.
    last_sent = dict(
        previous.filter(lead_id__in=list(counts), sent_at__gte=since)
        .values("lead_id")
        .annotate(last=Max("sent_at"))
        .values_list("lead_id", "last")
    )
    for lead_id, last in last_sent.items():
        newer = visit_counts(lead_ids=[lead_id], since=last, path_contains=[rule.path_contains])
        if newer.get(lead_id, 0) < rule.visit_count:
            counts.pop(lead_id)
    where = rule.path_contains or "/"
    return {
        pk: _("%(n)s visits to pages with “%(path)s” within %(days)s days")
        % {"n": n, "path": where, "days": rule.within_days}
        for pk, n in counts.items()
    }


def plan(*, lead_ids=None, now=None) -> list[Planned]:
    """The follow-ups due now (at most one per lead: the first rule by name that fires and
    still has an offer the lead has not received)."""
    now = now or timezone.now()
    planned: dict[int, Planned] = {}
    rules = FollowUpRule.objects.filter(is_active=True, offer__is_active=True).select_related(
        "offer"
    )
    for rule in rules.order_by("name", "pk"):
        reasons = _leads_for(rule, lead_ids=lead_ids, now=now)
        reasons = {pk: why for pk, why in reasons.items() if pk not in planned}
        if not reasons:
            continue
        candidates = _candidates(rule)
        received = _received(list(reasons))
        for lead in Lead.objects.filter(pk__in=list(reasons)).order_by("pk"):
            offers = candidates.get(lead.language or rule.offer.language, [])
            got = received.get(lead.pk, set())
            offer = next((o for o in offers if o.pk not in got), None)
            if offer is not None:
                planned[lead.pk] = Planned(
                    rule=rule, lead=lead, offer=offer, reason=reasons[lead.pk]
                )
    return list(planned.values())


def _mail(item: Planned, *, now) -> None:
    lead, offer = item.lead, item.offer
    with transaction.atomic():
        try:
            with transaction.atomic():
                FollowUpSent.objects.create(
                    rule=item.rule, offer=offer, lead=lead, sent_at=now, reason=item.reason[:300]
                )
        except IntegrityError:  # sent by a run beside this one
            item.refused = "sent already"
            return
        download, raw = services.hand_out(offer, lead=lead, now=now)
        language = lead.language or offer.language
        with translation.override(language):
            context = {
                "lead": lead,
                "offer": offer,
                "url": services.download_url(raw),
                "expires_at": download.expires_at,
            }
            subject = _("For you: %(name)s") % {"name": offer.name}
            text = render_to_string("marketing/offers/mail_follow_up.txt", context)
        consent_services.send_marketing_mail(
            purpose=ConsentPurpose.MARKETING, subject=subject, text=text, lead=lead
        )
    item.sent = True


def run(*, lead_ids=None, dry_run: bool = False, now=None) -> list[Planned]:
    """Send the follow-ups due now (``plan``); with ``dry_run`` only say what would go out.
    A lead without marketing consent (or address) gets nothing and nothing is recorded: it
    is planned again once it consents."""
    now = now or timezone.now()
    items = plan(lead_ids=lead_ids, now=now)
    for item in items:
        if not consent_services.may_contact(
            purpose=ConsentPurpose.MARKETING, channel=ConsentChannel.EMAIL, lead=item.lead
        ):
            item.refused = "no marketing consent"
            continue
        if dry_run:
            continue
        try:
            _mail(item, now=now)
        except consent_services.NoConsent as exc:
            item.refused = str(exc)
        except consent_services.NoPublicAddress as exc:
            item.refused = str(exc)
            log.warning("follow-ups: %s", exc)
    return items
