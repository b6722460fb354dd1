"""The signed webhook for other networks: Standard Webhooks signatures, replays, keywords."""

import datetime as dt
import json

from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from kreis.social import services
from kreis.social.models import Mention, SourceKind


def _post(client, source, payload, *, msg_id="msg_1", secret=None, at=None):
    body = json.dumps(payload).encode()
    at = at or timezone.now()
    signature = Webhook(secret or source.webhook_secret).sign(msg_id, at, body.decode())
    return client.post(
        f"/social/hooks/{source.webhook_token}/",
        body,
        content_type="application/json",
        headers={
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        },
    )


def _hook(alice):
    return services.source_create(
        actor=None, owner=alice, name="Bewertungen", kind=SourceKind.WEBHOOK
    )


POST = {
    "id": "review-7",
    "text": "<p>Kreiswerk hat meine Reklamation sofort gelöst. Danke!</p>",
    "author": "@kalle@reviews.example",
    "author_name": "Kalle",
    "url": "https://reviews.example/7",
    "published_at": "2026-03-01T10:00:00Z",
}


def test_signed_post_becomes_a_mention(keywords, alice):
    source = _hook(alice)
    response = _post(Client(), source, POST)
    assert response.status_code == 202
    assert response.json() == {"outcome": "stored", "stored": 1}
    mention = Mention.objects.get()
    assert mention.text == "Kreiswerk hat meine Reklamation sofort gelöst. Danke!"
    assert mention.author_key == "kalle@reviews.example"
    assert mention.sentiment == "positive"
    assert mention.language == "de"
    assert mention.published_at == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


def test_wrong_signature_is_refused_and_stores_nothing(keywords, alice):
    source = _hook(alice)
    other = "whsec_" + "A" * 43 + "="
    response = _post(Client(), source, POST, secret=other)
    assert response.status_code == 401
    assert Mention.objects.count() == 0


def test_old_timestamp_is_refused(keywords, alice):
    source = _hook(alice)
    response = _post(Client(), source, POST, at=timezone.now() - dt.timedelta(minutes=10))
    assert response.status_code == 401


def test_replayed_delivery_is_answered_without_a_second_mention(keywords, alice):
    source = _hook(alice)
    client = Client()
    assert _post(client, source, POST).json()["outcome"] == "stored"
    again = _post(client, source, POST)
    assert again.status_code == 202
    assert again.json() == {"outcome": "duplicate", "stored": 0}
    # The same post in a new delivery is recognised by its id too.
    assert _post(client, source, POST, msg_id="msg_2").json()["outcome"] == "duplicate"
    assert Mention.objects.count() == 1


def test_post_without_keyword_is_not_stored(keywords, alice):
    source = _hook(alice)
    response = _post(Client(), source, dict(POST, text="Schönes Wetter heute"))
    assert response.json() == {"outcome": "unmatched", "stored": 0}


def test_unknown_hook_is_404_and_bad_body_400(keywords, alice):
    source = _hook(alice)
    assert (
        Client().post("/social/hooks/nope/", b"{}", content_type="application/json").status_code
        == 404
    )
    assert _post(Client(), source, {"author": "x"}).status_code == 400
