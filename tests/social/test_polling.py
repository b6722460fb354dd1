"""Polling feeds and Mastodon against a loopback server (tests/social/conftest.py)."""

import pytest
from django.core.management import call_command

from kreis.social import fetching, services
from kreis.social.models import Mention, Source, SourceKind


def _source(alice, **fields):
    return services.source_create(actor=None, owner=alice, team=None, allow_private=True, **fields)


def test_rss_feed_stores_matching_items_as_text_and_skips_the_rest(replay_server, keywords, alice):
    source = _source(alice, name="Forum", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.rss")
    result = services.source_poll(actor=None, source=source)
    assert (result.received, result.stored, result.unmatched) == (2, 1, 1)  # "Kreiselpumpe" ≠
    mention = Mention.objects.get()
    assert mention.text.startswith("Erfahrungen mit Kreiswerk?")
    assert "<b>" not in mention.text
    assert "alert" not in mention.text
    assert mention.url == "https://forum.example/t/101"
    assert mention.language == "de"
    assert mention.sentiment == "positive"
    assert [k.term for k in mention.keywords.all()] == ["Kreiswerk"]
    assert mention.owner == alice


def test_feed_poll_again_stores_nothing_twice(replay_server, keywords, alice):
    source = _source(alice, name="Forum", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.rss")
    services.source_poll(actor=None, source=source)
    source.etag = ""  # the server would answer 304; read it all again to see the dedup
    result = services.source_poll(actor=None, source=source)
    assert (result.stored, result.duplicates, result.unmatched) == (0, 1, 1)
    assert Mention.objects.count() == 1


def test_feed_unchanged_answer_304_is_read_as_nothing_new(replay_server, keywords, alice):
    source = _source(alice, name="Forum", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.rss")
    services.source_poll(actor=None, source=source)
    source.refresh_from_db()
    assert source.etag == '"feed_rss.xml-1"'
    assert services.source_poll(actor=None, source=source).received == 0


def test_atom_feed_matches_competitor_with_umlaut_in_capitals(replay_server, keywords, alice):
    source = _source(alice, name="News", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.atom")
    services.source_poll(actor=None, source=source)
    mention = Mention.objects.get()
    assert [k.term for k in mention.keywords.all()] == ["Müller Pumpen"]
    assert mention.language == "en"


def test_feed_on_loopback_is_refused_unless_private_addresses_are_allowed(
    replay_server, keywords, alice
):
    source = Source.objects.create(
        name="Intern", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.rss", owner=alice
    )
    with pytest.raises(fetching.FetchError):
        services.source_poll(actor=None, source=source)
    source.refresh_from_db()
    assert source.last_error
    assert replay_server.requests == []


def test_feed_larger_than_the_limit_is_refused(replay_server, keywords, alice):
    source = _source(alice, name="Big", kind=SourceKind.FEED, url=f"{replay_server.url}/big.rss")
    with pytest.raises(fetching.FetchError):
        services.source_poll(actor=None, source=source)
    assert Mention.objects.count() == 0


def test_mastodon_hashtag_is_read_incrementally_with_min_id(replay_server, keywords, alice):
    source = _source(
        alice,
        name="#kreiswerk",
        kind=SourceKind.MASTODON_TAG,
        url=replay_server.url,
        query="#kreiswerk",
    )
    first = services.source_poll(actor=None, source=source)
    assert (first.received, first.stored) == (3, 2)  # the fair post names no keyword
    source.refresh_from_db()
    assert source.cursor == "113200000000000003"
    anna = Mention.objects.get(author_handle="@anna")
    assert anna.text == "Die Pumpe von #Kreiswerk ist seit zwei Tagen kaputt. Sehr enttäuscht!"
    assert anna.sentiment == "negative"
    assert anna.language == "de"
    assert anna.author_key == "anna@127.0.0.1"
    ben = Mention.objects.get(author_handle="@ben@other.example")
    assert "love the new #Kreiswerk app & the support team" in ben.text
    assert ben.sentiment == "positive"
    assert ben.author_name == "Ben Brook"
    assert str(ben.published_at) == "2026-03-01 17:40:12+00:00"

    replay_server.publish_later()
    second = services.source_poll(actor=None, source=source)
    assert (second.received, second.stored) == (1, 1)
    assert "min_id=113200000000000003" in replay_server.requests[-1]
    assert Mention.objects.count() == 3


def test_mastodon_search_uses_v2_search_for_statuses(replay_server, keywords, alice):
    source = _source(
        alice,
        name="Suche",
        kind=SourceKind.MASTODON_SEARCH,
        url=replay_server.url,
        query="Kreiswerk",
    )
    services.source_poll(actor=None, source=source)
    assert replay_server.requests[0].startswith("/api/v2/search?")
    assert "type=statuses" in replay_server.requests[0]
    mention = Mention.objects.get()
    assert mention.sentiment == "negative"
    assert mention.language == "en"


def test_cli_poll_polls_due_sources_and_records_failures(replay_server, keywords, alice, capsys):
    _source(alice, name="Forum", kind=SourceKind.FEED, url=f"{replay_server.url}/feed.rss")
    _source(alice, name="Weg", kind=SourceKind.FEED, url=f"{replay_server.url}/missing.rss")
    call_command("social", "poll")
    out = capsys.readouterr()
    assert "2 sources polled, 1 mentions stored, 1 failed" in out.out
    assert "Weg" in out.err
    call_command("social", "poll")  # nothing due any more
    assert "0 sources polled" in capsys.readouterr().out
