"""When a lead is converted, its consents go to the person it became: a ``post_save``
receiver on ``Lead`` watching ``converted_person`` (leads must not import marketing, so the
hook is here). Imported by the marketing app's ``ready()``."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from kreis.leads.models import Lead
from kreis.marketing.consent.services import move_to_person


@receiver(post_save, sender=Lead, dispatch_uid="marketing-consent-lead-converted")
def consents_follow_conversion(sender, instance: Lead, created: bool, update_fields=None, **kw):
    # Only a saved conversion costs a query: other lead saves pass by here at no cost.
    if created or not instance.converted_person_id:
        return
    if update_fields is not None and "converted_person" not in update_fields:
        return
    move_to_person(instance, instance.converted_person)
