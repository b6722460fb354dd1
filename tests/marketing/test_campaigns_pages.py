"""Campaign pages: who sees and changes what, the funnel with its figures, costs, members,
events."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kreis.core.models import Role
from kreis.leads.models import LeadStatus
from kreis.marketing.campaigns.services import record_touch
from kreis.marketing.models import Campaign, CampaignCost, CampaignMember, DealAttribution
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.leads.factories import LeadFactory
from tests.sales.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


@pytest.fixture
def molly(north):
    from tests.factories import MembershipFactory

    user = UserFactory(username="molly", first_name="Molly", last_name="Marx", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


@pytest.fixture
def fair(molly):
    return Campaign.objects.create(
        name="Spring fair", code="spring-fair", channel="event", owner=molly, event_capacity=2
    )


def test_marketing_sees_the_campaigns_in_the_menu_and_creates_one(molly):
    client = client_for(molly)
    page = client.get(reverse("marketing:campaign_list"))
    assert page.status_code == 200
    assert reverse("marketing:campaign_list") in page.content.decode()
    response = client.post(
        reverse("marketing:campaign_create"),
        {
            "name": "Newsletter May",
            "code": "newsletter-may",
            "channel": "email",
            "status": "active",
            "budget": "500",
            "owner": molly.pk,
        },
    )
    campaign = Campaign.objects.get(code="newsletter-may")
    assert response.status_code == 302
    assert campaign.owner == molly


def test_a_taken_code_is_refused_and_what_was_typed_stays(molly, fair):
    response = client_for(molly).post(
        reverse("marketing:campaign_create"),
        {
            "name": "Other fair",
            "code": "SPRING-FAIR",
            "channel": "event",
            "status": "planned",
            "budget": "0",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Another campaign already has this code." in html
    assert 'value="Other fair"' in html


def test_sales_rep_sees_no_campaigns_read_only_sees_but_cannot_change(alice, rory, fair):
    assert client_for(alice).get(reverse("marketing:campaign_list")).status_code == 403
    assert (
        client_for(alice).get(reverse("marketing:campaign_detail", args=[fair.pk])).status_code
        == 404
    )
    reader = client_for(rory)
    page = reader.get(reverse("marketing:campaign_detail", args=[fair.pk]))
    assert page.status_code == 200
    assert "Add cost" not in page.content.decode()
    response = reader.post(
        reverse("marketing:campaign_cost_add", args=[fair.pk]),
        {"date": "2027-03-01", "category": "venue", "amount": "100"},
    )
    assert response.status_code == 403
    assert not CampaignCost.objects.exists()
    assert (
        client_for(alice).post(reverse("marketing:campaign_delete", args=[fair.pk])).status_code
        == 404
    )
    assert Campaign.objects.filter(pk=fair.pk).exists()


def test_funnel_numbers_and_ratios_on_a_small_world(molly, alice):
    web = Campaign.objects.create(name="Web", code="web", channel="web", owner=molly)
    other = Campaign.objects.create(name="Other", code="other", channel="print", owner=molly)
    earlier = timezone.now() - timedelta(days=10)
    leads = [LeadFactory(owner=alice) for _ in range(4)]
    leads[1].mql_at = timezone.now()
    leads[1].status = LeadStatus.QUALIFIED
    leads[1].save()
    leads[2].mql_at = timezone.now()
    leads[2].save()
    for lead in leads:
        record_touch(campaign=web, kind="form", at=earlier, lead=lead)
    # The fourth lead came last through another campaign: last-touch credits that one.
    record_touch(campaign=other, kind="click", at=timezone.now(), lead=leads[3])
    won = DealFactory(owner=alice, amount=Decimal("3000"), stage=stage_named("Won"))
    open_deal = DealFactory(owner=alice, amount=Decimal("9999"))
    DealAttribution.objects.create(deal=won, first_campaign=web, last_campaign=web)
    DealAttribution.objects.create(deal=open_deal, first_campaign=web, last_campaign=other)
    client = client_for(molly)
    url = reverse("marketing:campaign_detail", args=[web.pk])
    # No cost yet: cost per lead and ROI are undefined ("—"), nothing divides by zero.
    html = client.get(url).content.decode()
    assert 'data-testid="cpl">—<' in html
    assert 'data-testid="roi">—<' in html
    CampaignCost.objects.create(campaign=web, date="2027-01-10", category="media", amount=1000)
    response = client.get(url)
    figures = response.context["figures"]
    assert [s["count"] for s in figures.stages()] == [4, 2, 1, 2, 1]
    assert figures.revenue == Decimal("3000")
    assert figures.cost_per_lead == Decimal("250.00")
    assert figures.cost_per_won_customer == Decimal("1000.00")
    assert figures.roi == Decimal("2.0000")
    assert 'data-testid="roi">200' in response.content.decode()
    last = client.get(url + "?model=last").context["figures"]
    assert (last.leads, last.opportunities, last.won) == (3, 1, 1)


def test_event_registration_creates_a_lead_and_capacity_is_enforced(molly, fair):
    client = client_for(molly)
    url = reverse("marketing:campaign_event_register", args=[fair.pk])
    client.post(url, {"first_name": "Ida", "last_name": "Ilg", "email": "ida@example.org"})
    client.post(url, {"first_name": "Ole", "last_name": "Ott", "email": "ole@example.org"})
    member = CampaignMember.objects.get(campaign=fair, lead__email="ida@example.org")
    assert member.registered_at is not None
    assert member.lead.source == "event: Spring fair"
    assert member.lead.attribution.first_campaign == fair
    response = client.post(url, {"last_name": "Late", "email": "late@example.org"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The event is full: all 2 places are taken." in html
    assert 'value="late@example.org"' in html
    assert CampaignMember.objects.filter(campaign=fair).count() == 2
    # Attendance is ticked on the members list.
    client.post(
        reverse("marketing:campaign_event_attend", args=[fair.pk, member.pk]), {"attended": "1"}
    )
    member.refresh_from_db()
    assert member.attended_at is not None


def test_bulk_marking_sets_a_response_on_the_ticked_members(molly, alice):
    campaign = Campaign.objects.create(name="Mail", code="mail", channel="email", owner=molly)
    a = CampaignMember.objects.create(campaign=campaign, lead=LeadFactory(owner=alice))
    b = CampaignMember.objects.create(campaign=campaign, lead=LeadFactory(owner=alice))
    client_for(molly).post(
        reverse("marketing:campaign_members_mark", args=[campaign.pk]),
        {"response": "opened", "members": [a.pk]},
    )
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.opened_at is not None
    assert b.opened_at is None
