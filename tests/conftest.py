"""Personas: alice (sales rep) and bob (her teammate) in team North, managed by mia;
charlie is a rep in team South; dana is an administrator; rory reads only, in North."""

import os
import shutil
import tempfile
from contextlib import contextmanager

os.environ.setdefault("KREIS_DATA", tempfile.mkdtemp(prefix="kreis-test-"))

import pytest  # noqa: E402
from django.core.servers.basehttp import WSGIServer  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.testcases import LiveServerThread  # noqa: E402

from kreis.core import services  # noqa: E402
from kreis.core.models import Role  # noqa: E402
from tests import instances  # noqa: E402
from tests.factories import MembershipFactory, TeamFactory, UserFactory  # noqa: E402


class OneRequestAtATime(WSGIServer):
    """The browser tests' server. On SQLite the test database lives in memory and the live
    server's request threads share the test's one connection: two chart requests at once on it
    hung a test for good. Answered one after another, they cannot (and Django closes each
    connection, so the browser does not wait on a kept-alive one)."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)  # the server thread installs the connections


LiveServerThread.server_class = OneRequestAtATime


# --- Tests that choose their databases themselves -------------------------------------------


def pytest_collection_modifyitems(config, items):
    """``make test-postgres`` skips the tests marked ``database_independent``: they start
    their own instances on the databases they name (SQLite files, PostgreSQL copies) whatever
    DATABASE_URL says, or touch no database, so the SQLite run (``make test``) has run exactly
    them already."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="independent of DATABASE_URL: run by `make test`")
    for item in items:
        if item.get_closest_marker("database_independent"):
            item.add_marker(skip)


# --- The test database: a copy of one migrated per run (tests/instances.py) ---------------


@contextmanager
def _migrate_by_copying(tmp_path_factory):
    """While the test databases are set up, Django's ``migrate`` into a new test database is
    a copy of the run's migrated template instead of a replay of every migration."""
    from django.core import management
    from django.db import connections

    real = management.call_command

    def call_command(name, *args, **options):
        if name != "migrate":
            return real(name, *args, **options)
        connection = connections[options.get("database", "default")]
        if connection.vendor == "sqlite":
            instances.load_sqlite(instances.migrated_sqlite(tmp_path_factory), connection)
        elif connection.vendor == "postgresql":
            server = os.environ.get("DATABASE_URL") or _postgres_url(connection.settings_dict)
            template = instances.migrated_postgres(tmp_path_factory, server)
            connection.close()
            instances.postgres_copy(
                tmp_path_factory, server, connection.settings_dict["NAME"], template
            )
        else:
            return real(name, *args, **options)
        return None

    management.call_command = call_command
    try:
        yield
    finally:
        management.call_command = real


def _postgres_url(settings_dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{user}@{host}:{settings_dict.get('PORT') or 5432}/postgres"


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_modify_db_settings,
    tmp_path_factory,
):
    """pytest-django's set-up of the test databases (a new one per worker), with the
    migrations copied from the run's template."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    verbosity = request.config.option.verbose
    with django_db_blocker.unblock(), _migrate_by_copying(tmp_path_factory):
        databases = setup_databases(
            verbosity=verbosity,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
        )
    yield
    with django_db_blocker.unblock():
        _disconnect_others(databases)
        teardown_databases(databases, verbosity=verbosity)


def _disconnect_others(databases) -> None:
    """On PostgreSQL a connection a thread left open (a live server's, a job's) makes the final
    DROP DATABASE fail ("being accessed by other users") after every test passed: close ours
    and end the others first."""
    import psycopg

    for connection, _old_name, destroy in databases:
        if not destroy or connection.vendor != "postgresql":
            continue
        name = connection.settings_dict["NAME"]
        server = os.environ.get("DATABASE_URL") or _postgres_url(connection.settings_dict)
        connection.close()
        with psycopg.connect(instances.postgres_url(server, "postgres"), autocommit=True) as db:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """The data folder of a migrated SQLite instance: copy it with
    ``instances.sqlite_instance(migrated_sqlite, folder)``."""
    return instances.migrated_sqlite(tmp_path_factory)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A request in German (or a test's ``translation.activate``) leaves German active in the
    thread: the next test in the same worker would read German where it expects the site's
    language. Each test ends with the site language again."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _no_worker_of_this_process(monkeypatch):
    """A test that starts a heartbeat makes this process a job worker by name
    (``worker.CURRENT_WORKER``), and every import or check run later in the process would
    be claimed by that worker — gone from the next test's database, so the run looked
    orphaned. Each test starts as a process that is no worker."""
    from kreis.core import worker

    monkeypatch.setattr(worker, "CURRENT_WORKER", None)


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


# --- Tools some tests need: skipped where missing on a developer's machine, fatal in CI ---

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
REDIS_TEST_URL = os.environ.get("KREIS_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def require(available: bool, what: str, install: str) -> None:
    """Skip the calling test when `what` (Chromium, PostgreSQL, Redis, Java, xgettext …) is
    missing. With CI=true the test fails instead: .ci/run installs and starts all of them, so
    a missing one is a broken CI run, never a test silently left out."""
    if available:
        return
    message = f"{what} is not available ({install})"
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def require_command(command: str, install: str) -> str:
    """The path of a program on PATH (xgettext, java), or skip/fail as `require` does."""
    path = shutil.which(command)
    require(path is not None, command, install)
    return path


@pytest.fixture
def redis_url():
    """A Redis database of this test process's own (pytest-xdist worker gw0 → db 1, gw1 → db
    2, …), so parallel workers never see each other's keys; skipped without a reachable
    server, a failure in CI."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    url = f"{REDIS_TEST_URL.rstrip('/')}/{1 + int(worker.removeprefix('gw')) % 15}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        require(False, "Redis", f"{url}: {exc}; apt-get install redis-server")
    return url


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
    require(os.path.exists(CHROMIUM), "Chromium", "apt-get install chromium")
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


# A real IMAP server (Dovecot, tests/mailserver.py) for tests that fetch mail: one server per
# test process (dovecot_server), a user with an empty mailbox per test (imap_user).
from tests.mailserver import dovecot_server, imap_user  # noqa: E402, F401


# A real SMTP server (aiosmtpd, tests/smtpserver.py) per test: Django's e-mail settings point
# at it and ``smtp_inbox.messages`` holds (recipients, parsed message) of everything sent.
@pytest.fixture
def smtp_inbox(settings):
    from tests.smtpserver import smtp_server

    with smtp_server(settings) as inbox:
        yield inbox
