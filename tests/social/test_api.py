"""The social listening REST API: mentions filtered, keywords and sources created (and refused
as problem+json), a mention turned into a case, and another team's sources out of sight."""

import pytest
from django.test import Client
from django.utils import timezone

from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case
from kreis.social import services
from kreis.social.models import Keyword, Source, SourceKind

ANGRY = "Die Pumpe von Kreiswerk ist kaputt. Sehr enttäuscht!"
HAPPY = "Müller Pumpen sind super, ich bin begeistert!"


@pytest.fixture
def api(api_key_for):
    def client(user):
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(user)}")

    return client


@pytest.fixture
def mentions(keywords, alice):
    ensure_defaults()
    source = services.source_create(actor=alice, name="Bewertungen", kind=SourceKind.WEBHOOK)
    posts = [
        services.fetching.Post(
            external_id=str(n),
            url=f"https://social.example/@anna/{n}",
            text=text,
            published_at=timezone.now(),
            author_handle="@anna@social.example",
            author_name="Anna Adler",
        )
        for n, text in enumerate((ANGRY, HAPPY))
    ]
    angry, happy = services.mentions_store(source=source, posts=posts)[1]
    return {"source": source, "angry": angry, "happy": happy}


def _texts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["text"] for item in response.json()["items"]]


def test_mentions_are_listed_by_sentiment_keyword_source_and_text(api, alice, keywords, mentions):
    client = api(alice)
    url = "/api/v1/social/mentions"
    assert sorted(_texts(client.get(url))) == sorted([ANGRY, HAPPY])
    assert _texts(client.get(url, {"sentiment": "negative"})) == [ANGRY]
    assert _texts(client.get(url, {"sentiment": "positive"})) == [HAPPY]
    assert _texts(client.get(url, {"keyword_id": keywords["competitor"].pk})) == [HAPPY]
    assert _texts(client.get(url, {"q": "kaputt"})) == [ANGRY]
    assert len(_texts(client.get(url, {"source_id": mentions["source"].pk}))) == 2
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    assert _texts(client.get(url, {"since": tomorrow})) == []
    refused = client.get(url, {"sentiment": "furious"})
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"


def test_keyword_create_and_its_refusals_as_problem_json(api, dana, alice, keywords):
    client = api(dana)
    made = client.post(
        "/api/v1/social/keywords",
        {"term": "Kreisel", "kind": "product"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["is_active"] is True
    assert Keyword.objects.get(pk=made.json()["id"]).term == "Kreisel"

    twice = client.post(
        "/api/v1/social/keywords", {"term": "KREISWERK"}, content_type="application/json"
    )
    assert twice.status_code == 422
    assert twice["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in twice.json()["errors"]] == ["term"]
    assert "monitored already" in twice.json()["errors"][0]["message"]

    unknown = client.post(
        "/api/v1/social/keywords",
        {"term": "Neu", "kind": "rumour"},
        content_type="application/json",
    )
    assert unknown.status_code == 422
    assert Keyword.objects.filter(term="Neu").count() == 0
    # A sales rep listens but does not decide what is listened for.
    rep = api(alice).post(
        "/api/v1/social/keywords", {"term": "Heimlich"}, content_type="application/json"
    )
    assert rep.status_code == 403
    assert not Keyword.objects.filter(term="Heimlich").exists()


def test_source_create_and_its_refusals_as_problem_json(api, alice):
    client = api(alice)
    feed = client.post(
        "/api/v1/social/sources",
        {"name": "Blog", "kind": "feed", "url": "https://blog.example.com/feed.xml"},
        content_type="application/json",
    )
    assert feed.status_code == 201, feed.content
    assert feed.json()["owner_id"] == alice.pk
    assert feed.json()["webhook_secret"] is None

    hook = client.post(
        "/api/v1/social/sources",
        {"name": "Portal", "kind": "webhook"},
        content_type="application/json",
    )
    assert hook.status_code == 201
    assert hook.json()["webhook_secret"].startswith("whsec_")
    assert hook.json()["webhook_path"].startswith("/social/hooks/")

    no_address = client.post(
        "/api/v1/social/sources", {"name": "Feed", "kind": "feed"}, content_type="application/json"
    )
    assert no_address.status_code == 422
    assert no_address["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in no_address.json()["errors"]] == ["url"]

    no_hashtag = client.post(
        "/api/v1/social/sources",
        {"name": "Tag", "kind": "mastodon_tag", "url": "https://mastodon.example"},
        content_type="application/json",
    )
    assert no_hashtag.status_code == 422
    assert [e["field"] for e in no_hashtag.json()["errors"]] == ["query"]

    too_often = client.post(
        "/api/v1/social/sources",
        {"name": "Oft", "kind": "webhook", "poll_minutes": 1},
        content_type="application/json",
    )
    assert too_often.status_code == 422
    assert Source.objects.count() == 2


def test_mention_becomes_a_case_through_the_api_once(api, alice, mentions):
    client = api(alice)
    url = f"/api/v1/social/mentions/{mentions['angry'].pk}/case"
    first = client.post(url, {"severity": "high"}, content_type="application/json")
    assert first.status_code == 201, first.content
    case = Case.objects.get(pk=first.json()["case_id"])
    assert case.channel == "social"
    assert case.severity == "high"
    assert case.subject == ANGRY
    again = client.post(url, {}, content_type="application/json")
    assert again.status_code == 200
    assert again.json()["case_id"] == case.pk
    assert Case.objects.count() == 1


def test_another_teams_source_and_its_mentions_are_not_found(api, charlie, mentions):
    client = api(charlie)
    source, angry = mentions["source"], mentions["angry"]
    assert client.get(f"/api/v1/social/sources/{source.pk}").status_code == 404
    changed = client.patch(
        f"/api/v1/social/sources/{source.pk}", {"name": "Meins"}, content_type="application/json"
    )
    assert changed.status_code == 404
    assert client.delete(f"/api/v1/social/sources/{source.pk}").status_code == 404
    assert client.get(f"/api/v1/social/mentions/{angry.pk}").status_code == 404
    case = client.post(
        f"/api/v1/social/mentions/{angry.pk}/case", {}, content_type="application/json"
    )
    assert case.status_code == 404
    assert _texts(client.get("/api/v1/social/mentions")) == []
    assert client.get("/api/v1/social/sources").json()["items"] == []
    source.refresh_from_db()
    assert source.name == "Bewertungen"
    assert Case.objects.count() == 0
