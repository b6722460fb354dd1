"""Every API route, fuzzed by schemathesis from the OpenAPI schema: no server errors.

Per route: schemathesis' boundary values (its coverage phase) and ``KREIS_FUZZ_EXAMPLES``
random examples (15; the PostgreSQL run of ``make test-postgres`` draws 5). A route that takes
no input at all (no path, query, header or body parameter, e.g. ``POST /backups``) has one
request to make: it is called once."""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kreis.core import services
from kreis.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def _takes_input(ctx) -> bool:
    # The operation as the schema writes it (its parsed parameters are not filled in yet when
    # schemathesis filters).
    raw = ctx.operation.definition.raw
    return bool(raw.get("parameters")) or "requestBody" in raw


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Called as a WSGI app (not through Django's test client), each request would close the
    # database connection that holds the test's transaction; the test client avoids the same.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


_WAREHOUSE: list[str] = []


@pytest.fixture(autouse=True)
def _empty_warehouse(settings, tmp_path_factory, db):
    # The analytics routes read the warehouse: give them one (empty) as after a first refresh,
    # made once per worker (a first refresh writes every table; the routes only read it).
    from kreis.analytics import warehouse

    if not _WAREHOUSE:
        path = tmp_path_factory.mktemp("fuzz-warehouse") / "warehouse.duckdb"
        settings.KREIS_WAREHOUSE = f"duckdb://{path}"
        warehouse.refresh()
        _WAREHOUSE.append(settings.KREIS_WAREHOUSE)
    settings.KREIS_WAREHOUSE = _WAREHOUSE[0]


@pytest.fixture
def admin_key(dana, alice, north):
    _, raw = services.apikey_create(actor=None, user=dana, name="fuzz", scope="read_write")
    return raw


def _call(case, admin_key) -> None:
    response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", [""])[0].startswith(
            "application/problem+json"
        ), f"{case.method} {case.formatted_path}: {response.status_code} {response.headers}"


@pytest.mark.django_db
@schema.include(func=_takes_input).parametrize()
@settings(
    max_examples=int(os.environ.get("KREIS_FUZZ_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_answers_with_a_server_error(case, admin_key):
    _call(case, admin_key)


@pytest.mark.django_db
@schema.exclude(func=_takes_input).parametrize()
@settings(
    max_examples=1,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_route_without_input_never_answers_with_a_server_error(case, admin_key):
    _call(case, admin_key)
