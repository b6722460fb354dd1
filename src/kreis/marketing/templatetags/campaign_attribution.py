"""``{% campaign_attribution record %}``: the first- and last-touch campaign of a lead or a
deal, as a small card on its page. Loaded by the lead and deal templates, so those apps show
the attribution without importing lead management. Nothing is drawn without attribution; the
campaign links only for users who see lead management."""

from django import template

from kreis.marketing.campaigns.queries import attribution_of_deal, attribution_of_lead

register = template.Library()


@register.inclusion_tag("marketing/campaigns/_attribution.html", takes_context=True)
def campaign_attribution(context, record):
    label = record._meta.label_lower
    if label == "leads.lead":
        attribution = attribution_of_lead(record)
    elif label == "sales.deal":
        attribution = attribution_of_deal(record)
    else:
        attribution = None
    user = context.get("user") or getattr(context.get("request"), "user", None)
    rows = []
    if attribution is not None:
        linked = bool(user and user.has_perm("marketing.view"))
        for key, campaign in (
            ("first", attribution.first_campaign),
            ("last", attribution.last_campaign),
        ):
            rows.append(
                {
                    "key": key,
                    "campaign": campaign,
                    "at": getattr(attribution, f"{key}_at", None),
                    "linked": linked and campaign is not None,
                }
            )
    return {"rows": rows}
