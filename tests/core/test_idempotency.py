"""Idempotency-Key on API POSTs: a retry gets the first answer and has no second effect."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.test.client import encode_multipart
from django.utils import timezone

from kreis.core.idempotency import purge_expired, request_fingerprint
from kreis.core.models import IdempotencyKey
from kreis.core.tasks import housekeeping
from kreis.parties.models import Party

pytestmark = pytest.mark.django_db


def post(client: Client, key_header: str, path: str, body: dict, idempotency_key: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key_header}"}
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_a_replay_returns_the_first_answer_and_creates_one_record(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    body = {"name": "Einmal GmbH"}
    first = post(client, key, "/api/v1/organizations", body, "order-4711")
    second = post(client, key, "/api/v1/organizations", body, "order-4711")

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert second["Idempotent-Replayed"] == "true"
    assert "no-store" in second["Cache-Control"]
    assert not first.has_header("Idempotent-Replayed")
    assert Party.objects.filter(name="Einmal GmbH").count() == 1


def test_the_same_key_with_another_body_is_refused(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    post(client, key, "/api/v1/organizations", {"name": "Erste GmbH"}, "k-1")
    other = post(client, key, "/api/v1/organizations", {"name": "Zweite GmbH"}, "k-1")
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert other.json()["type"] == "urn:kreis:problem:idempotency-key-reused"
    assert not Party.objects.filter(name="Zweite GmbH").exists()


def test_the_same_key_on_another_path_is_refused(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    post(client, key, "/api/v1/organizations", {"name": "Pfad GmbH"}, "k-2")
    other = post(client, key, "/api/v1/teams", {"name": "Pfad GmbH"}, "k-2")
    assert other.status_code == 422


def test_another_user_with_the_same_key_is_independent(alice, charlie, api_key_for):
    client = Client()
    mine = post(client, api_key_for(alice), "/api/v1/organizations", {"name": "A GmbH"}, "k")
    theirs = post(client, api_key_for(charlie), "/api/v1/organizations", {"name": "A GmbH"}, "k")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert Party.objects.filter(name="A GmbH").count() == 2


def test_a_duplicate_while_the_first_is_in_flight_gets_409(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    body = {"name": "Langsam GmbH"}
    # The first request holds the key and has not answered yet (as another thread would).
    IdempotencyKey.objects.create(
        user=alice,
        key="k-busy",
        path="/api/v1/organizations",
        request_hash=_fingerprint_of(alice, key, body),
    )
    busy = post(client, key, "/api/v1/organizations", body, "k-busy")
    assert busy.status_code == 409
    assert busy["Retry-After"] == "1"
    assert not Party.objects.filter(name="Langsam GmbH").exists()


def _fingerprint_of(user, key, body) -> str:
    request = RequestFactory().post(
        "/api/v1/organizations", json.dumps(body), content_type="application/json"
    )
    return request_fingerprint(request)


def test_keys_expire_after_24_hours(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    post(client, key, "/api/v1/organizations", {"name": "Gestern GmbH"}, "k-old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(client, key, "/api/v1/organizations", {"name": "Gestern GmbH"}, "k-old")
    assert again.status_code == 201
    assert not again.has_header("Idempotent-Replayed")
    assert Party.objects.filter(name="Gestern GmbH").count() == 2

    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert housekeeping.call_local()["idempotency_keys"] == 1
    assert not IdempotencyKey.objects.exists()
    assert purge_expired() == 0


def test_errors_of_the_server_or_the_credentials_are_not_kept(alice, api_key_for):
    read_only = api_key_for(alice, scope="read")
    client = Client()
    refused = post(client, read_only, "/api/v1/organizations", {"name": "Nur Lesen"}, "k-r")
    assert refused.status_code == 403
    assert not IdempotencyKey.objects.exists()  # the key is free for a retry with a better key
    allowed = post(
        client, api_key_for(alice), "/api/v1/organizations", {"name": "Nur Lesen"}, "k-r"
    )
    assert allowed.status_code == 201


def test_validation_errors_are_replayed_too(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    first = post(client, key, "/api/v1/organizations", {"nam": "Tippfehler"}, "k-v")
    second = post(client, key, "/api/v1/organizations", {"nam": "Tippfehler"}, "k-v")
    assert first.status_code == second.status_code == 422
    assert first.content == second.content


def test_without_the_header_nothing_changes(alice, api_key_for):
    key = api_key_for(alice)
    client = Client()
    post(client, key, "/api/v1/organizations", {"name": "Zweimal GmbH"}, None)
    post(client, key, "/api/v1/organizations", {"name": "Zweimal GmbH"}, None)
    assert Party.objects.filter(name="Zweimal GmbH").count() == 2
    assert not IdempotencyKey.objects.exists()


def test_a_browser_session_has_it_too(alice):
    client = Client()
    client.force_login(alice)
    body = json.dumps({"name": "Browser GmbH"})
    for _ in range(2):
        response = client.post(
            "/api/v1/organizations",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k-session",
        )
        assert response.status_code == 201
    assert Party.objects.filter(name="Browser GmbH").count() == 1


def test_an_unusable_key_is_refused(alice, api_key_for):
    response = post(Client(), api_key_for(alice), "/api/v1/organizations", {"name": "X"}, "x" * 256)
    assert response.status_code == 400
    assert not Party.objects.filter(name="X").exists()


def _multipart(boundary: str, content: bytes):
    upload = SimpleUploadedFile("kontakte.csv", content, content_type="text/csv")
    data = encode_multipart(boundary, {"type": "person", "file": upload})
    return RequestFactory().generic(
        "POST",
        "/api/v1/imports",
        data,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_uploads_are_compared_by_their_fields_and_file_contents():
    same_a = request_fingerprint(_multipart("boundary-one", b"Name;E-Mail\nAnna;a@x.de\n"))
    same_b = request_fingerprint(_multipart("other-boundary", b"Name;E-Mail\nAnna;a@x.de\n"))
    different = request_fingerprint(_multipart("boundary-one", b"Name;E-Mail\nBen;b@x.de\n"))
    assert same_a == same_b
    assert same_a != different
