"""What starts and ends a handoff: a lead crossing the MQL threshold is handed to sales; a
call, e-mail or meeting logged on the lead, or the lead moving on, is the first contact."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from kreis.activities.models import Activity, Direction
from kreis.leads.models import Lead
from kreis.marketing.handoff import services
from kreis.marketing.signals import lead_qualified

log = logging.getLogger("kreis.marketing.handoff")


@receiver(lead_qualified, dispatch_uid="handoff_on_mql")
def hand_off_qualified_lead(sender, lead: Lead, **kwargs) -> None:
    try:
        services.hand_off(lead)
    except ValidationError as exc:
        # The lead itself does not validate (e.g. imported data): it waits for "Hand off now".
        log.warning("Lead %s could not be handed off: %s", lead.pk, exc)


@receiver(post_save, sender=Activity, dispatch_uid="handoff_first_contact_activity")
def first_contact_by_activity(sender, instance: Activity, created: bool, **kwargs) -> None:
    if (
        created
        and instance.lead_id is not None
        and instance.kind in services.CONTACT_KINDS
        and not (instance.kind == "email" and instance.direction == Direction.INBOUND)
    ):
        services.record_first_contact(lead_id=instance.lead_id, at=timezone.now())


@receiver(post_save, sender=Lead, dispatch_uid="handoff_first_contact_status")
def first_contact_by_status(sender, instance: Lead, created: bool, update_fields=None, **kwargs):
    if created or instance.status not in services.MET_LEAD_STATUSES:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    services.record_first_contact(lead_id=instance.pk, at=timezone.now())
