"""Tracking follows what happens elsewhere: a visitor who sends a web form is linked to its
lead or contact (with its earlier visits); a converted lead's visits follow it to the person."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from kreis.leads.models import Lead
from kreis.marketing.signals import form_submitted
from kreis.marketing.tracking import services


@receiver(form_submitted, dispatch_uid="tracking.link_visitor")
def link_visitor(sender, submission, visitor_uid=None, **kwargs) -> None:
    if not visitor_uid or not services.is_visitor_id(visitor_uid):
        return
    if submission.lead_id is None and submission.party_id is None:
        return
    services.visitor_link(
        uid=visitor_uid,
        lead=submission.lead,
        party=submission.party,
        submission=submission,
        language=submission.form.language,
    )


@receiver(post_save, sender=Lead, dispatch_uid="tracking.converted_lead_visits")
def visits_follow_conversion(sender, instance: Lead, raw: bool = False, **kwargs) -> None:
    if raw or instance.converted_person_id is None:
        return
    services.visits_follow_conversion(lead=instance)
