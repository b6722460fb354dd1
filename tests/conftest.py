"""Personas: alice (sales rep) and bob (her teammate) in team North, managed by mia;
charlie is a rep in team South; dana is an administrator; rory reads only, in North."""

import os
import shutil
import tempfile

os.environ.setdefault("KREIS_DATA", tempfile.mkdtemp(prefix="kreis-test-"))

import pytest  # noqa: E402
from django.core.servers.basehttp import WSGIServer  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402

from kreis.core import services  # noqa: E402
from kreis.core.models import Role  # noqa: E402
from tests.factories import MembershipFactory, TeamFactory, UserFactory  # noqa: E402


class OneRequestAtATime(WSGIServer):
    """The browser tests' server. On SQLite the test database lives in memory and the live
    server's request threads share the test's one connection: two chart requests at once on it
    hung a test for good. Answered one after another, they cannot (and Django closes each
    connection, so the browser does not wait on a kept-alive one)."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)  # the server thread installs the connections


LiveServerThread.server_class = OneRequestAtATime


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def north(db):
    return TeamFactory(name="North")


@pytest.fixture
def south(db):
    return TeamFactory(name="South")


@pytest.fixture
def alice(north):
    user = UserFactory(username="alice", first_name="Alice", last_name="Adler")
    MembershipFactory(team=north, user=user)
    return user


@pytest.fixture
def bob(north):
    user = UserFactory(username="bob", first_name="Bob", last_name="Becker")
    MembershipFactory(team=north, user=user)
    return user


@pytest.fixture
def mia(north):
    user = UserFactory(username="mia", first_name="Mia", last_name="Meyer", role=Role.SALES_MANAGER)
    MembershipFactory(team=north, user=user, is_manager=True)
    return user


@pytest.fixture
def charlie(south):
    user = UserFactory(username="charlie", first_name="Charlie", last_name="Christ")
    MembershipFactory(team=south, user=user)
    return user


@pytest.fixture
def dana(db):
    return UserFactory(username="dana", first_name="Dana", last_name="Dorn", role=Role.ADMIN)


@pytest.fixture
def rory(north):
    user = UserFactory(username="rory", first_name="Rory", last_name="Roth", role=Role.READ_ONLY)
    MembershipFactory(team=north, user=user)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api_key_for(db):
    """A raw API key for a user: api_key_for(alice, scope="read_write")."""

    def make(user, scope="read_write"):
        _, raw = services.apikey_create(actor=None, user=user, name="test", scope=scope)
        return raw

    return make


# --- Browser tests: Debian's Chromium through Playwright (one browser for the session) ---


CHROMIUM = os.environ.get("KREIS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Playwright's sync API runs an event loop; Django's live server is synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()
