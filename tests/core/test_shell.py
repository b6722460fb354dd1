"""The app shell: dashboard, search, notifications, language, profile, API keys, headers."""

import pytest

from kreis.core.models import ApiKey, Notification
from tests.conftest import client_for
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_dashboard_shows_teams_notifications_and_navigation(alice, north):
    NotificationFactory(user=alice, title="Quarterly targets are set")
    body = client_for(alice).get("/").content.decode()
    assert "Welcome, Alice" in body
    assert "North" in body
    assert "Quarterly targets are set" in body
    assert 'id="global-search"' in body
    assert "Administration" not in body  # not an admin


def test_admin_sees_system_status_and_administration(dana):
    body = client_for(dana).get("/").content.decode()
    assert 'data-testid="system-status"' in body
    assert "/manage/users/" in body


def test_search_finds_colleagues_and_own_teams_only(alice, bob, charlie, south):
    client = client_for(alice)
    body = client.get("/search/", {"q": "Beck"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Bob Becker" in body
    assert "<html" not in body
    assert "South" not in client.get("/search/", {"q": "Sou"}).content.decode().split("</form>")[-1]


def test_search_says_when_nothing_is_found(alice):
    body = client_for(alice).get("/search/", {"q": "zzzz"}).content.decode()
    assert "Nothing found" in body


def test_unread_notifications_are_counted_and_marked_read(alice):
    NotificationFactory(user=alice)
    NotificationFactory(user=alice)
    client = client_for(alice)
    assert 'data-testid="unread-count">2<' in client.get("/").content.decode()
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=alice, read_at=None).exists()
    assert "unread-count" not in client.get("/").content.decode()


def test_notification_of_another_user_is_404(alice, bob):
    theirs = NotificationFactory(user=bob)
    assert client_for(alice).post(f"/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_language_switch_is_kept_on_the_user(alice):
    client = client_for(alice)
    response = client.post("/language/", {"language": "de", "next": "/"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.language == "de"
    body = client.get("/").content.decode()
    assert '<html lang="de"' in body
    assert "Willkommen, Alice" in body
    assert "Abmelden" in body


def test_language_switch_refuses_foreign_redirects(alice):
    response = client_for(alice).post(
        "/language/", {"language": "en", "next": "https://evil.example"}
    )
    assert response.url == "/"


def test_profile_saves_own_fields(alice):
    client_for(alice).post(
        "/me/",
        {
            "first_name": "Alicia",
            "last_name": "Adler",
            "job_title": "Key Account",
            "phone": "",
            "language": "en",
        },
    )
    alice.refresh_from_db()
    assert alice.first_name == "Alicia"
    assert alice.job_title == "Key Account"


def test_api_key_page_shows_the_key_once_and_revokes(alice):
    client = client_for(alice)
    body = client.post("/me/api-keys/", {"name": "ERP", "scope": "read"}).content.decode()
    key = ApiKey.objects.get(user=alice)
    assert 'data-testid="new-api-key"' in body
    assert key.prefix in body
    assert 'data-testid="new-api-key"' not in client.get("/me/api-keys/").content.decode()
    client.post(f"/me/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_someone_elses_api_key_cannot_be_revoked(alice, bob, api_key_for):
    api_key_for(bob)
    key = ApiKey.objects.get(user=bob)
    assert client_for(alice).post(f"/me/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_pages_carry_a_strict_content_security_policy(alice):
    response = client_for(alice).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()


def test_user_content_is_escaped(alice):
    NotificationFactory(user=alice, title="<script>alert(1)</script>")
    body = client_for(alice).get("/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_healthz_reports_database_jobs_worker_and_data_folder(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "jobs", "worker", "data_folder"}
    assert all(check["ok"] for check in report["checks"].values())


def test_healthz_fails_when_the_data_folder_is_gone(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "missing"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["data_folder"]["ok"] is False


def test_requests_are_logged_as_json(alice, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="kreis.request"):
        response = client_for(alice).get("/", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"
    entry = next(r for r in caplog.records if r.name == "kreis.request")
    assert entry.status == 200
    assert entry.user_id == alice.pk
    assert entry.request_id == "abc123"


def _sidebar(body: str) -> str:
    return body[body.index('id="sidebar"') : body.index('id="main"')]


def test_sidebar_marks_the_current_section_for_each_page(alice):
    client = client_for(alice)
    on_leads = _sidebar(client.get("/leads/").content.decode())
    assert '<a class="nav-link active" href="/leads/">' in on_leads
    assert '<a class="nav-link" href="/parties/">' in on_leads
    on_parties = _sidebar(client.get("/parties/").content.decode())  # kept HTML, other key
    assert '<a class="nav-link active" href="/parties/">' in on_parties
    assert '<a class="nav-link" href="/leads/">' in on_parties
    assert on_parties.count("nav-link active") == 1


def test_sidebar_follows_role_and_language(alice, dana):
    rep = _sidebar(client_for(alice).get("/").content.decode())
    admin = _sidebar(client_for(dana).get("/").content.decode())
    assert "/manage/users/" not in rep
    assert "/analytics/runs/" not in rep
    assert "/manage/users/" in admin
    assert "/analytics/runs/" in admin
    alice.language = "de"
    alice.save()
    german = _sidebar(client_for(alice).get("/").content.decode())
    assert "Organisationen und Personen" in german
    assert "Organisations and persons" in rep
