"""Signing in from outside: the admin site uses the app's login (throttling, TOTP), failed
logins are counted per login name and address, and a whole office behind one address can sign
in; bad API keys never lock out valid ones."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client, override_settings

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.7"


@pytest.fixture
def staff_dana(dana):
    dana.is_staff = True
    dana.is_superuser = True
    dana.save()
    return dana


def app_login(client, login_name, password=PASSWORD):
    return client.post("/accounts/login/", {"login": login_name, "password": password})


def admin_login(client, username, password=PASSWORD):
    return client.post(
        "/django-admin/login/",
        {"username": username, "password": password, "next": "/django-admin/"},
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_sends_visitors_to_the_app_login(db):
    response = Client().get("/django-admin/")
    assert response.status_code == 302
    response = Client().get(response.url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/django-admin/")


def test_admin_login_form_gives_no_session_even_after_25_wrong_passwords(staff_dana):
    client = Client()
    for _ in range(25):
        admin_login(client, "dana", "wrong")
    admin_login(client, "dana")
    assert not signed_in(client)
    assert client.get("/django-admin/").status_code == 302


def test_admin_login_gives_no_session_while_the_app_login_is_throttled(staff_dana):
    client = Client()
    for _ in range(5):
        app_login(client, "dana", "wrong")
    admin_login(client, "dana")
    assert not signed_in(client)
    app_login(client, "dana")
    assert not signed_in(client)


def test_admin_login_asks_a_totp_user_for_the_code(staff_dana):
    secret = generate_totp_secret()
    TOTP.activate(staff_dana, secret)
    client = Client()
    admin_login(client, "dana")
    assert not signed_in(client)
    response = client.post(
        "/accounts/login/?next=/django-admin/", {"login": "dana", "password": PASSWORD}
    )
    assert response.url == "/accounts/2fa/authenticate/"
    assert not signed_in(client)
    assert client.get("/django-admin/").status_code == 302
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.url == "/django-admin/"
    assert client.get("/django-admin/").status_code == 200


def test_signed_in_non_staff_user_is_refused_by_the_admin(alice):
    client = Client()
    app_login(client, "alice")
    assert client.get("/django-admin/login/?next=/django-admin/").status_code == 403


def test_one_users_typos_do_not_lock_out_colleagues_behind_the_same_address(alice, bob):
    office = Client(REMOTE_ADDR=OFFICE)
    for _ in range(8):
        app_login(office, "alice", "wrong")
    colleague = Client(REMOTE_ADDR=OFFICE)
    response = app_login(colleague, "bob")
    assert response.status_code == 302
    assert signed_in(colleague)


def test_failed_logins_are_limited_per_user_and_address(alice):
    attacker = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(5):
        app_login(attacker, "alice", "wrong")
    app_login(attacker, "alice")
    assert not signed_in(attacker)
    # Alice herself, at her own desk, is not locked out by someone elsewhere guessing.
    own_desk = Client(REMOTE_ADDR=OFFICE)
    app_login(own_desk, "alice")
    assert signed_in(own_desk)


@override_settings(
    ACCOUNT_RATE_LIMITS={"login": "", "login_failed": "2/300s/key"},
)
def test_the_failed_login_limit_is_a_setting(alice):
    client = Client()
    for _ in range(2):
        app_login(client, "alice", "wrong")
    app_login(client, "alice")
    assert not signed_in(client)


def test_successful_logins_are_never_limited_per_address(db):
    users = UserFactory.create_batch(35)
    for user in users:
        client = Client(REMOTE_ADDR=OFFICE)
        response = app_login(client, user.username)
        assert response.status_code == 302, user.username
        assert signed_in(client)


def test_bad_api_keys_never_lock_out_a_valid_key(alice, api_key_for):
    raw = api_key_for(alice)
    client = Client(REMOTE_ADDR=OFFICE)
    statuses = {
        client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer kreis_wrong").status_code
        for _ in range(35)
    }
    assert statuses == {401, 429}
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
