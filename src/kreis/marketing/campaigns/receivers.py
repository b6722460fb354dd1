"""Campaign attribution follows what happens elsewhere: a web form sent for a campaign
touches it; a deal (new, or linked to the lead converted into it) is credited to campaigns."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from kreis.leads.models import Lead
from kreis.marketing.campaigns import services
from kreis.marketing.models import TouchKind
from kreis.marketing.signals import form_submitted
from kreis.sales.models import Deal


@receiver(form_submitted, dispatch_uid="campaigns.form_touch")
def touch_on_form(sender, submission, **kwargs) -> None:
    if submission.campaign_id is None or (
        submission.lead_id is None and submission.party_id is None
    ):
        return
    services.record_touch(
        campaign=submission.campaign,
        kind=TouchKind.FORM,
        at=submission.created_at,
        lead=submission.lead,
        party=submission.party,
    )


@receiver(post_save, sender=Deal, dispatch_uid="campaigns.deal_attribution")
def attribute_new_deal(sender, instance: Deal, created: bool, raw: bool = False, **kwargs) -> None:
    # A new deal: its customer's touches so far (the converted lead links to it only after
    # the deal is saved; the receiver below takes over then).
    if created and not raw:
        services.attribute_deal(instance)


@receiver(post_save, sender=Lead, dispatch_uid="campaigns.converted_lead_attribution")
def attribute_converted_deal(sender, instance: Lead, raw: bool = False, **kwargs) -> None:
    if raw or instance.converted_deal_id is None:
        return
    # Conversion stamps converted_at: touches after it no longer move the last campaign.
    services.refresh_lead_attribution(instance)
    deal = Deal.objects.filter(pk=instance.converted_deal_id).first()
    if deal is not None:
        services.attribute_deal(deal)
