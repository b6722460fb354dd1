"""Campaign figures: the funnel per campaign (leads → MQL → SQL → opportunities → won →
revenue) under first- or last-touch attribution, cost, cost per lead, cost per won customer
and ROI; the campaigns a user sees.

Ratios are ``None`` where they are undefined: no cost recorded (cost per lead, cost per won
customer, ROI), no leads (cost per lead) or no won customer (cost per won customer). Nothing is
ever divided by zero; pages show "—" for ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404

from kreis.leads.models import LeadStatus
from kreis.marketing.models import (
    Campaign,
    CampaignCost,
    CampaignMember,
    DealAttribution,
    LeadAttribution,
    ResponseKind,
)
from kreis.sales.models import StageKind

MODELS = ("first", "last")
ZERO = Decimal("0")
CENT = Decimal("0.01")


def campaigns_for_user(*, user) -> QuerySet[Campaign]:
    if not user.has_perm("marketing.view"):
        raise PermissionDenied
    return Campaign.objects.select_related("owner", "team", "target_segment")


def campaign_get_for_user(*, user, pk: int, perm: str = "marketing.view_record") -> Campaign:
    campaign = (
        Campaign.objects.select_related("owner", "team", "target_segment").filter(pk=pk).first()
    )
    if campaign is None or not user.has_perm("marketing.view_record", campaign):
        raise Http404
    if perm != "marketing.view_record" and not user.has_perm(perm, campaign):
        raise PermissionDenied
    return campaign


@dataclass
class Funnel:
    campaign_id: int
    model: str = "first"
    members: int = 0
    leads: int = 0
    mql: int = 0
    sql: int = 0
    opportunities: int = 0
    won: int = 0
    won_customers: int = 0
    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    responses: dict = field(default_factory=dict)

    @property
    def cost_per_lead(self) -> Decimal | None:
        if not self.cost or not self.leads:
            return None
        return (self.cost / self.leads).quantize(CENT)

    @property
    def cost_per_won_customer(self) -> Decimal | None:
        if not self.cost or not self.won_customers:
            return None
        return (self.cost / self.won_customers).quantize(CENT)

    @property
    def roi(self) -> Decimal | None:
        """(revenue − cost) / cost as a fraction (0.5 is 50 %)."""
        if not self.cost:
            return None
        return ((self.revenue - self.cost) / self.cost).quantize(Decimal("0.0001"))

    @property
    def roi_percent(self) -> Decimal | None:
        roi = self.roi
        return None if roi is None else (roi * 100).quantize(Decimal("0.1"))

    def stages(self) -> list[dict]:
        """The funnel's counting stages in order, with each stage's share of the first."""
        from django.utils.translation import gettext as _

        rows = [
            ("leads", _("Leads"), self.leads),
            ("mql", _("MQL"), self.mql),
            ("sql", _("SQL"), self.sql),
            ("opportunities", _("Opportunities"), self.opportunities),
            ("won", _("Won"), self.won),
        ]
        return [
            {
                "key": key,
                "label": label,
                "count": count,
                "percent": round(100 * count / self.leads) if self.leads else None,
            }
            for key, label, count in rows
        ]

    def as_dict(self) -> dict:
        return {
            "campaign_id": self.campaign_id,
            "model": self.model,
            "members": self.members,
            "leads": self.leads,
            "mql": self.mql,
            "sql": self.sql,
            "opportunities": self.opportunities,
            "won": self.won,
            "won_customers": self.won_customers,
            "revenue": self.revenue,
            "cost": self.cost,
            "cost_per_lead": self.cost_per_lead,
            "cost_per_won_customer": self.cost_per_won_customer,
            "roi": self.roi,
            "responses": self.responses,
        }


def funnels(campaign_ids: Iterable[int], *, model: str = "first") -> dict[int, Funnel]:
    """The funnel of each campaign, in a fixed number of queries whatever their count."""
    if model not in MODELS:
        model = "first"
    ids = list(campaign_ids)
    result = {pk: Funnel(campaign_id=pk, model=model) for pk in ids}
    if not ids:
        return result
    key = f"{model}_campaign_id"

    leads = (
        LeadAttribution.objects.filter(**{f"{key}__in": ids}, lead__deleted_at__isnull=True)
        .values(key)
        .annotate(
            n=Count("lead"),
            mql=Count("lead", filter=Q(lead__mql_at__isnull=False)),
            sql=Count(
                "lead", filter=Q(lead__status__in=[LeadStatus.QUALIFIED, LeadStatus.CONVERTED])
            ),
        )
    )
    for row in leads:
        funnel = result[row[key]]
        funnel.leads, funnel.mql, funnel.sql = row["n"], row["mql"], row["sql"]

    won = Q(deal__stage__kind=StageKind.WON)
    deals = (
        DealAttribution.objects.filter(**{f"{key}__in": ids}, deal__deleted_at__isnull=True)
        .values(key)
        .annotate(
            n=Count("deal"),
            won=Count("deal", filter=won),
            customers=Count(
                Coalesce("deal__organization_id", "deal__contact_id", "deal_id"),
                filter=won,
                distinct=True,
            ),
            revenue=Sum("deal__amount", filter=won),
        )
    )
    for row in deals:
        funnel = result[row[key]]
        funnel.opportunities, funnel.won = row["n"], row["won"]
        funnel.won_customers = row["customers"]
        funnel.revenue = row["revenue"] or ZERO

    costs = (
        CampaignCost.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(total=Sum("amount"))
    )
    for row in costs:
        result[row["campaign_id"]].cost = row["total"] or ZERO

    counts = {"n": Count("pk")}
    for response in ResponseKind.values:
        counts[response] = Count("pk", filter=Q(**{f"{response}_at__isnull": False}))
    members = (
        CampaignMember.objects.filter(campaign_id__in=ids).values("campaign_id").annotate(**counts)
    )
    for row in members:
        funnel = result[row["campaign_id"]]
        funnel.members = row["n"]
        funnel.responses = {r: row[r] for r in ResponseKind.values}
    for funnel in result.values():
        if not funnel.responses:
            funnel.responses = dict.fromkeys(ResponseKind.values, 0)
    return result


def funnel(campaign: Campaign, *, model: str = "first") -> Funnel:
    return funnels([campaign.pk], model=model)[campaign.pk]


def attribution_of_lead(lead) -> LeadAttribution | None:
    return (
        LeadAttribution.objects.select_related("first_campaign", "last_campaign")
        .filter(lead=lead)
        .first()
    )


def attribution_of_deal(deal) -> DealAttribution | None:
    return (
        DealAttribution.objects.select_related("first_campaign", "last_campaign")
        .filter(deal=deal)
        .first()
    )


def members_for_campaign(campaign: Campaign, *, response: str = "", search: str = ""):
    members = CampaignMember.objects.filter(campaign=campaign).select_related("lead", "party")
    if response in ResponseKind.values:
        members = members.filter(**{f"{response}_at__isnull": False})
    elif response.startswith("no-") and response[3:] in ResponseKind.values:
        members = members.filter(**{f"{response[3:]}_at__isnull": True})
    if search:
        members = members.filter(
            Q(lead__last_name__icontains=search)
            | Q(lead__first_name__icontains=search)
            | Q(lead__email__icontains=search)
            | Q(lead__company__icontains=search)
            | Q(party__name__icontains=search)
        )
    return members.order_by("pk")


def campaign_search_hits(*, user, text: str, limit: int = 8) -> list:
    """Campaigns by name or code for the global search, only for users who see lead
    management (a role permission: the search index's owner/team rule would show them to
    sales reps in the owner's team)."""
    from django.urls import reverse

    from kreis.core.search import SearchHit

    text = text.strip()
    if len(text) < 2 or not user.has_perm("marketing.view"):
        return []
    campaigns = Campaign.objects.filter(Q(name__icontains=text) | Q(code__icontains=text))
    return [
        SearchHit(
            title=campaign.name,
            subtitle=f"{campaign.get_channel_display()} · {campaign.get_status_display()}",
            url=reverse("marketing:campaign_detail", args=[campaign.pk]),
            icon="megaphone",
            entity="campaign",
            object_id=campaign.pk,
        )
        for campaign in campaigns.order_by("-starts_on", "-pk")[:limit]
    ]
