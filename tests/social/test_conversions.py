"""A mention becomes a lead, a case or a logged reply — once, in one transaction, only for
users who may change it; authors are linked to parties by their social handle."""

import pytest
from django.test import Client
from django.utils import timezone, translation

from kreis.activities.models import Activity
from kreis.leads.models import Lead
from kreis.parties.services import party_create
from kreis.service.analysis.figures import pareto
from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case, CaseCategory, Channel
from kreis.social import services
from kreis.social.models import Mention, SourceKind
from tests.conftest import client_for


@pytest.fixture
def mention(keywords, alice):
    ensure_defaults()
    source = services.source_create(actor=alice, name="Bewertungen", kind=SourceKind.WEBHOOK)
    post = services.fetching.Post(
        external_id="p1",
        url="https://social.example/@anna/1",
        text="Die Pumpe von Kreiswerk ist kaputt. Sehr enttäuscht!",
        published_at=timezone.now(),
        author_handle="@anna@social.example",
        author_name="Anna Adler",
    )
    _result, created = services.mentions_store(source=source, posts=[post])
    return created[0]


def test_author_with_a_known_handle_is_linked_to_the_party(keywords, alice):
    party = party_create(
        actor=alice,
        kind="person",
        first_name="Anna",
        last_name="Adler",
        socials=[{"value": "https://social.example/@anna", "label": "Mastodon"}],
    )
    source = services.source_create(actor=alice, name="Hook", kind=SourceKind.WEBHOOK)
    post = services.fetching.Post(
        external_id="p1",
        url="",
        text="Kreiswerk ist toll",
        published_at=timezone.now(),
        author_handle="@Anna@social.example",
    )
    services.mentions_store(source=source, posts=[post])
    assert Mention.objects.get().party == party
    page = client_for(alice).get(f"/social/party/{party.pk}/")
    assert "Kreiswerk ist toll" in page.content.decode()


def test_handle_added_later_links_on_rescore_and_shows_on_the_party(mention, alice):
    assert mention.party is None
    party = party_create(
        actor=alice, kind="person", last_name="Adler", socials=[{"value": "@anna@social.example"}]
    )
    assert (
        "Die Pumpe von Kreiswerk"
        in client_for(alice).get(f"/social/party/{party.pk}/").content.decode()
    )
    assert services.mentions_rescore()["linked"] == 1
    mention.refresh_from_db()
    assert mention.party == party


def test_negative_mention_becomes_a_case_once(mention, alice):
    client = client_for(alice)
    category = CaseCategory.objects.filter(is_active=True).first()
    response = client.post(
        f"/social/mentions/{mention.pk}/case/", {"severity": "high", "category": category.pk}
    )
    assert response.status_code == 302
    mention.refresh_from_db()
    case = Case.objects.get()
    assert mention.case == case
    assert case.subject.startswith("Die Pumpe von Kreiswerk ist kaputt")
    assert "https://social.example/@anna/1" in case.description
    # The author became a person with the social profile, so the next mention finds her.
    assert case.party.name == "Anna Adler"
    assert services.party_for_handle("anna@social.example") == case.party
    again = client.post(f"/social/mentions/{mention.pk}/case/", {}, follow=True)
    assert Case.objects.count() == 1
    assert case.number in again.content.decode()


def test_case_from_a_mention_counts_under_the_social_media_channel(mention, alice):
    case = services.mention_to_case(actor=alice, mention=mention)[0].case
    assert case.channel == Channel.SOCIAL == "social"
    page = client_for(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="de")
    assert "Social Media" in page.content.decode()
    with translation.override("en"):
        by_channel = pareto(Case.objects.all(), "channel")["items"]
    assert [(row["key"], row["label"], row["count"]) for row in by_channel] == [
        ("social", "Social media", 1)
    ]


def test_the_public_complaint_form_does_not_offer_social_media(mention):
    page = Client().get("/complaint/")
    assert page.status_code == 200
    assert 'value="social"' not in page.content.decode()


def test_mention_becomes_a_lead_once(mention, alice):
    client = client_for(alice)
    client.post(f"/social/mentions/{mention.pk}/lead/")
    client.post(f"/social/mentions/{mention.pk}/lead/")
    lead = Lead.objects.get()
    mention.refresh_from_db()
    assert mention.lead == lead
    assert lead.last_name == "Anna Adler"
    assert "Die Pumpe von Kreiswerk" in lead.notes
    assert lead.owner == alice


def test_reply_is_logged_on_the_timeline_once(mention, alice):
    party = party_create(actor=alice, kind="person", last_name="Adler")
    mention.party = party
    mention.save()
    client = client_for(alice)
    client.post(
        f"/social/mentions/{mention.pk}/reply/", {"text": "Das tut uns leid, wir melden uns."}
    )
    client.post(f"/social/mentions/{mention.pk}/reply/", {"text": "Zweimal?"})
    activity = Activity.objects.get()
    assert activity.party == party
    assert activity.kind == "note"
    assert "Das tut uns leid" in activity.body
    mention.refresh_from_db()
    assert mention.reply == activity


def test_user_of_another_team_does_not_see_the_mention(mention, charlie):
    client = client_for(charlie)
    assert client.get(f"/social/mentions/{mention.pk}/").status_code == 404
    assert client.post(f"/social/mentions/{mention.pk}/case/", {}).status_code == 404
    assert client.post(f"/social/mentions/{mention.pk}/lead/").status_code == 404
    assert Case.objects.count() == 0
    assert Lead.objects.count() == 0


def test_read_only_teammate_sees_but_cannot_convert(mention, rory):
    client = client_for(rory)
    assert client.get(f"/social/mentions/{mention.pk}/").status_code == 200
    assert client.post(f"/social/mentions/{mention.pk}/lead/").status_code == 403
    assert Lead.objects.count() == 0
