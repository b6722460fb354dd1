"""Signing in with django-allauth: login, rotation, throttling, password reset, TOTP."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, login_name, password=PASSWORD):
    return client.post("/accounts/login/", {"login": login_name, "password": password})


def test_dashboard_asks_for_sign_in(db):
    response = Client().get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_login_by_username_or_email_and_the_session_rotates(alice):
    client = Client()
    client.get("/accounts/login/")
    before = client.session.session_key
    response = login(client, "alice")
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert login(Client(), "alice@example.com").status_code == 302


def test_nobody_can_sign_up_on_their_own(db):
    response = Client().get("/accounts/signup/")
    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()


def test_repeated_failed_logins_are_throttled(alice):
    client = Client()
    for _ in range(5):
        assert login(client, "alice", "wrong").status_code == 200
    # Now even the right password is refused for a while.
    response = login(client, "alice")
    assert response.status_code in {200, 429}
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_link(alice):
    response = Client().post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_totp_is_asked_after_the_password(alice):
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    client = Client()
    response = login(client, "alice")
    assert response.url == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    assert client.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code == 200
    assert "_auth_user_id" not in client.session
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_login_page_is_german_when_the_browser_asks(db):
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert "Anmelden" in response.content.decode()
