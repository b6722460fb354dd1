"""Segments and web forms in the global search: everyone who sees lead management finds them,
whoever owns them; nobody else does (as on their pages)."""

import pytest
from django.urls import reverse

from kreis.core.models import Role, SearchEntry
from kreis.core.search import reindex, search_all
from kreis.marketing.segments import services as segment_services
from kreis.marketing.webforms import services as form_services
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def otto(south):
    """A marketing user of another team: the owner of the segment and the form."""
    user = UserFactory(username="otto", role=Role.MARKETING)
    MembershipFactory(team=south, user=user)
    return user


@pytest.fixture
def records(otto):
    segment = segment_services.segment_create(
        actor=otto,
        name="Zitronenfalter Stammkunden",
        conditions=[{"field": "abc_class", "op": "in", "value": ["A"]}],
    )
    form = form_services.form_create(actor=otto, name="Zitronenfalter Messe", key="fruehjahr2026")
    return segment, form


def test_a_marketing_user_finds_another_users_segment_and_form(records, north):
    segment, form = records
    molly = UserFactory(username="molly", role=Role.MARKETING)
    MembershipFactory(team=north, user=molly)
    page = client_for(molly).get("/search/", {"q": "Zitronenfalter"}).content.decode()
    assert "Zitronenfalter Stammkunden" in page
    assert reverse("marketing:segments:detail", args=[segment.pk]) in page
    assert "Zitronenfalter Messe" in page
    assert reverse("marketing:webforms:detail", args=[form.pk]) in page
    # The links open for her.
    client = client_for(molly)
    assert client.get(reverse("marketing:segments:detail", args=[segment.pk])).status_code == 200
    assert client.get(reverse("marketing:webforms:detail", args=[form.pk])).status_code == 200
    # A form is found by its address too.
    assert [h.title for h in search_all(user=molly, text="fruehjahr")] == ["Zitronenfalter Messe"]


def test_the_owner_finds_each_once(records, otto):
    hits = search_all(user=otto, text="Zitronenfalter")
    assert sorted((h.entity, h.title) for h in hits) == [
        ("lead_form", "Zitronenfalter Messe"),
        ("segment", "Zitronenfalter Stammkunden"),
    ]


def test_a_sales_rep_without_lead_management_finds_neither(records, south):
    rep = UserFactory(username="rita", role=Role.SALES_REP)
    MembershipFactory(team=south, user=rep)  # even in the owner's team
    page = client_for(rep).get("/search/", {"q": "Zitronenfalter"}).content.decode()
    assert "Zitronenfalter Stammkunden" not in page
    assert "Zitronenfalter Messe" not in page
    assert search_all(user=rep, text="Zitronenfalter") == []


def test_old_index_entries_of_segments_and_forms_are_not_shown_and_a_reindex_drops_them(
    records, south
):
    segment, form = records
    rep = UserFactory(username="rita", role=Role.SALES_REP)
    MembershipFactory(team=south, user=rep)
    # As an older version left them: entries by the owner/team rule.
    for entity, pk, title in (
        ("segment", segment.pk, "Zitronenfalter Stammkunden"),
        ("lead_form", form.pk, "Zitronenfalter Messe"),
    ):
        SearchEntry.objects.create(
            entity=entity,
            object_id=pk,
            title=title,
            subtitle="",
            url="/",
            icon="x",
            text="zitronenfalter",
            owner_id=None,
            team_id=south.pk,
        )
    assert search_all(user=rep, text="Zitronenfalter") == []
    reindex()
    assert not SearchEntry.objects.filter(entity__in=["segment", "lead_form"]).exists()
