"""Who may reach what, generated from the routes: every URL pattern (walked from Django's
resolver) and every REST operation (from the OpenAPI schema) is called by anonymous, rory
(read-only, North), charlie (a rep of South), alice (the owner), mia (North's manager) and dana
(administrator), on alice's records.

- Nothing answers 500.
- Anonymous gets the login page (a redirect) or 401.
- charlie never sees alice's records: a route naming one answers 403/404, and no page, list,
  CSV export, search or API answer shows their marker word.
- A refused write (anonymous, rory, charlie) leaves every one of alice's rows exactly as it was
  (every column, updated_at included); anonymous and rory create nothing either.
- alice is not refused her own records (so charlie's 404s are not a wrong fill).

A route added later is covered without being listed here; if the world cannot fill one of its
parameters, the test fails and says how to extend ``tests/core/route_world.py``.
"""

from __future__ import annotations

import json
import os

import pytest
from django.db import transaction
from django.test import Client

from tests.core.route_world import (
    MARKER,
    Operation,
    UnfillableRoute,
    WebRoute,
    api_body,
    api_query,
    api_url,
    api_used,
    form_on_page,
    operations,
    row_counts,
    web_routes,
    web_url,
    web_used,
    world_fixture,  # noqa: F401  (the shared world)
)

pytestmark = pytest.mark.django_db

ALL_PERSONAS = ["anonymous", "rory", "charlie", "alice", "mia", "dana"]
# ``make test-postgres`` sets KREIS_ROUTE_PERSONAS=charlie,alice,dana: the SQL that differs by
# database is the visibility filter (charlie refused, alice's own scope) and the full success
# path (dana); anonymous, rory and mia are decided by the same code on both, which the SQLite
# run has checked.
_CHOSEN = set(os.environ.get("KREIS_ROUTE_PERSONAS", ",".join(ALL_PERSONAS)).split(","))
PERSONAS = [p for p in ALL_PERSONAS if p in _CHOSEN]
MAY_WRITE = {"alice", "mia", "dana"}  # their writes run and are rolled back
# alice's own records (not the shared configuration they use).
OWNED = {
    "organization",
    "person",
    "partner",
    "survivor",
    "other_party",
    "employment",
    "relationship",
    "merge",
    "lead",
    "deal",
    "task",
    "done_task",
    "meeting",
    "note",
    "transaction",
    "saved_view",
    "api_key",
    "notification",
    "cost_entry",
    "webhook",
    "webhook_delivery",
    "import_job",
    "import_template",
    "case",
    "case_note",
    "case_task",
    "supplier_request",
    "case_cost",
    "quote_deal",
    "draft_deal",
    "ready_deal",
    "quote",
    "draft_quote",
    "ready_quote",
    "quote_approval",
    "inbox_item",
    "call_list",
    "call_entry",
}
# Pages anyone may open: signing in, signing up, resetting a password, the health check.
PUBLIC_PREFIXES = (
    "/accounts/",
    "/healthz",
    "/django-admin/login/",
    "/django-admin/logout/",
    "/language/",
    "/surveys/a/",  # a survey's answer page behind a contact's personal link
    "/cases/rate/",  # a closed case's rating page behind the closing e-mail's personal link
    "/complaint/",  # the public complaint form, its embed variant and embed.js
    "/consent/",  # the opt-in confirmation and unsubscribe pages behind a marketing mail's link
    "/f/",  # the public web-to-lead forms, their embed variant, embed.js and JSON endpoint
    "/t/",  # the website tracking snippet and its collector (consented visitors only)
    "/download/",  # a content offer's download behind the link in the visitor's e-mail
    "/q/",  # a quote's page behind the acceptance link in the customer's e-mail
    "/automation/hooks/",  # an automation rule's inbound webhook (signed; secret address)
    "/social/hooks/",  # a social listening source's webhook (signed; secret address)
)
REFUSED = {403, 404, 405}
# What lists and searches are asked for: it finds alice's records, and its echo in a search box
# is not the marker itself.
SEARCH = MARKER[:5]

WEB = list(web_routes())
API = operations()


def _client(world, persona: str) -> Client:
    """The persona's signed-in client, with its session cookie as signed in (a route that
    signs out, e.g. /accounts/logout/, must not sign the persona out for the next routes)."""
    from copy import deepcopy

    client = world.clients[persona]
    client.cookies = deepcopy(world.cookies[persona])
    return client


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _goes_to_login(response) -> bool:
    return response.status_code in (301, 302) and "/login/" in response.get("Location", "")


def _leak(text: str) -> str | None:
    at = text.find(MARKER)
    return None if at < 0 else text[max(0, at - 120) : at + 60].replace("\n", " ")


class Findings:
    def __init__(self, route: str, world) -> None:
        self.route = route
        self.world = world
        self.problems: list[str] = []

    def check(self, ok: bool, persona: str, method: str, message: str) -> None:
        if not ok:
            self.problems.append(f"{persona} {method}: {message}")

    def fail_if_any(self) -> None:
        if self.problems:
            pytest.fail(f"{self.route}:\n  " + "\n  ".join(self.problems), pytrace=False)


def _changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _compare(found: Findings, persona: str, method: str, rows: dict, counts: dict):
    """After a refused write: alice's rows (and, for anonymous and rory, the row counts) are
    as at the previous check. The previous check's reading is this one's "before" (reading
    once per call instead of before and after it); the requests in between are this persona's
    own GET, which must not change anything either (the test's final check says so too).
    Returns this reading, the next check's "before"."""
    after_rows = found.world.snapshot()
    changed = _changed(rows, after_rows)
    found.check(not changed, persona, method, f"changed alice's {changed} (since the last check)")
    after_counts = row_counts()
    if persona in ("anonymous", "rory"):
        grew = [k for k in counts if counts[k] != after_counts[k]]
        found.check(not grew, persona, method, f"changed the number of {grew}")
    return after_rows, after_counts


# --- Forms a browser would post, collected from the pages dana sees ----------------------------


_FORMS: dict[int, dict[str, dict[str, list[str]]]] = {}


def _forms(world) -> dict[str, dict[str, list[str]]]:
    """Every POST form on every page dana opens, by the URL it posts to."""
    if id(world) in _FORMS:
        return _FORMS[id(world)]
    from tests.core.route_world import _FormParser

    _FORMS.clear()
    found: dict[str, dict[str, list[str]]] = {}
    client = _client(world, "dana")
    for route in WEB:
        if route.model is not None or route.name.startswith("admin:"):
            continue
        try:
            url = web_url(route, world)
        except UnfillableRoute:
            continue
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _FormParser()
        parser.feed(_text(response))
        for form in parser.forms:
            action = form.pop("__action__")[0] or url
            found.setdefault(action.split("?")[0], form)
    _FORMS[id(world)] = found
    return found


def _web_body(route: WebRoute, url: str, world) -> dict[str, list[str]]:
    body = dict(_forms(world).get(url, {}))
    if url.rstrip("/").endswith("/bulk"):
        from tests.core.route_world import PK_BY_SEGMENT

        segment = url.rstrip("/").rsplit("/", 2)[-2]
        body.update(ids=[str(world[PK_BY_SEGMENT[segment]].pk)], action=["delete"], confirmed=["1"])
    return body


# --- Web routes -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", WEB, ids=str)
def test_web_route_keeps_alices_records_to_those_allowed(route: WebRoute, world):
    try:
        url = web_url(route, world)
        used = web_used(route)
    except UnfillableRoute as missing:
        pytest.fail(str(missing), pytrace=False)
    foreign = [name for name in used if name in OWNED]
    is_admin = route.name.startswith("admin:")
    public = url.startswith(PUBLIC_PREFIXES)
    get_url = url if used or is_admin else f"{url}?q={SEARCH}"
    body = _web_body(route, url, world)
    found = Findings(f"{route.name} {url}", world)
    start = rows = world.snapshot()
    counts = row_counts()
    for persona in PERSONAS:
        client = _client(world, persona)
        for method in ("GET", "POST"):
            if is_admin and persona in ("alice", "mia", "rory"):
                continue  # not staff, like charlie: the admin sends them all to its login
            if method == "POST" and is_admin and persona in MAY_WRITE:
                continue  # the admin's own forms are Django's; the access check is what counts
            watch = method == "POST" and persona not in MAY_WRITE
            if method == "GET":
                response = client.get(get_url)
            elif persona in MAY_WRITE:
                with transaction.atomic():
                    response = client.post(url, body)
                    text = _text(response)
                    transaction.set_rollback(True)
            else:
                response = client.post(url, body)
            status = response.status_code
            text = _text(response) if not (method == "POST" and persona in MAY_WRITE) else text
            found.check(status < 500, persona, method, f"answered {status}")
            if persona == "anonymous" and not public:
                found.check(
                    _goes_to_login(response) or status in (401, 403, 405),
                    persona,
                    method,
                    f"not sent to the login page ({status} {response.get('Location', '')})",
                )
            if persona == "charlie":
                leak = _leak(text)
                found.check(leak is None, persona, method, f"shows alice's record: …{leak}…")
                if foreign:
                    found.check(
                        status in REFUSED or _goes_to_login(response),
                        persona,
                        method,
                        f"answered {status} for alice's {', '.join(foreign)}",
                    )
            if persona == "alice" and foreign and method == "GET" and not is_admin:
                found.check(status != 404, persona, method, "her own record is 404 (wrong fill?)")
            if watch:
                rows, counts = _compare(found, persona, method, rows, counts)
    changed = _changed(start, world.snapshot())
    found.check(not changed, "someone", "GET", f"changed alice's {changed}")
    found.fail_if_any()


# --- REST operations -------------------------------------------------------------------------


def _api_call(client, op: Operation, url: str, query: dict, body):
    method = getattr(client, op.method)
    if op.method == "get":
        return method(url, query)
    if body is None:
        return method(url)
    return method(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("op", API, ids=str)
def test_api_operation_keeps_alices_records_to_those_allowed(op: Operation, world):
    try:
        url = api_url(op, world)
        used = api_used(op)
        query = api_query(op, world)
        body = api_body(op, world)
    except UnfillableRoute as missing:
        pytest.fail(str(missing), pytrace=False)
    if any(name == "q" for name, _ in op.parameters):
        query["q"] = SEARCH
    foreign = [name for name in used if name in OWNED]
    writes = op.method != "get"
    found = Findings(str(op), world)
    start = rows = world.snapshot()
    counts = row_counts() if writes else {}
    for persona in PERSONAS:
        client = _client(world, persona)
        watch = writes and persona not in MAY_WRITE
        if writes and persona in MAY_WRITE:
            with transaction.atomic():
                response = _api_call(client, op, url, query, body)
                text = _text(response)
                transaction.set_rollback(True)
        else:
            response = _api_call(client, op, url, query, body)
            text = _text(response)
        status = response.status_code
        found.check(status < 500, persona, op.method, f"answered {status}: {text[:300]}")
        if persona == "anonymous":
            found.check(status == 401, persona, op.method, f"answered {status}, not 401")
        if persona == "charlie":
            leak = _leak(text)
            found.check(leak is None, persona, op.method, f"shows alice's record: …{leak}…")
            if foreign:
                found.check(
                    status in REFUSED,
                    persona,
                    op.method,
                    f"answered {status} for alice's {', '.join(foreign)}",
                )
        if persona == "alice" and foreign and not writes:
            found.check(status != 404, persona, op.method, "her own record is 404 (wrong fill?)")
        if watch:
            rows, counts = _compare(found, persona, op.method, rows, counts)
    changed = _changed(start, world.snapshot())
    found.check(not changed, "someone", "GET", f"changed alice's {changed}")
    found.fail_if_any()


# --- The generation itself covers what it should ---------------------------------------------


def test_every_route_is_generated():
    names = {route.name for route in WEB}
    assert {"parties:detail", "sales:export", "core:search", "admin:index"} <= names
    assert len(WEB) > 200
    assert {str(op) for op in API} >= {
        "POST /api/v1/deals/{deal_id}/move",
        "POST /api/v1/leads/{lead_id}/convert",
        "GET /api/v1/search",
    }


def test_owner_sees_her_records_where_charlie_does_not(world):
    # The marker check is only worth something if the marker shows where it may.
    alice = _client(world, "alice")
    for url in (f"/search/?q={SEARCH}", "/parties/", "/deals/list/export.csv"):
        assert MARKER in _text(alice.get(url)), url


def test_a_form_from_the_pages_is_what_a_browser_sends(world):
    client = _client(world, "dana")
    url = f"/leads/{world['lead'].pk}/edit/"
    form = form_on_page(_text(client.get(url)), url)
    assert form is not None
    assert form["last_name"] == [MARKER]
