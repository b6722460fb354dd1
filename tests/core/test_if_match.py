"""If-Match on every state-changing API operation of a resource that answers with an ETag,
generated from the OpenAPI schema (RFC 9110 §13.1.1): a stale tag is refused with 412 and
changes nothing; the current tag, ``*`` and a list holding the current tag are accepted; a
weak tag never matches (If-Match compares strongly)."""

import json

import pytest
from django.db import transaction
from django.test import Client

from kreis.core.api_support import etag, if_match_allows, parse_entity_tags
from tests.core.route_world import (
    PARAMS,
    STATE,
    STRINGS,
    Operation,
    api_body,
    api_url,
    operations,
    world_fixture,  # noqa: F401  (the shared world)
)

pytestmark = pytest.mark.django_db

STATE_CHANGING = {"post", "put", "patch", "delete"}


def _path_params(op: Operation) -> list[str]:
    return [name for name, where in op.parameters if where == "path"]


# Which record an operation acts on: its (last) path parameter's record. A merge is undone on
# its survivor, whose fields the undo sets back: the survivor's version is the precondition.
def _subject(op: Operation, world):
    name = _path_params(op)[-1]
    record = world[STATE.get(op.operation_id, {}).get(name) or PARAMS[name]]
    if name == "merge_id":
        record = world["survivor"]
    return record


def _state_changing_with_a_record() -> list[Operation]:
    # Routes addressed by a natural key (an SLA policy's severity, a mail template's key and
    # language, a report frequency) set configuration by name and carry no version.
    return [
        op
        for op in operations()
        if op.method in STATE_CHANGING
        and _path_params(op)
        and (op.operation_id, _path_params(op)[-1]) not in STRINGS
        and op.operation_id not in OWN_VERSION
    ]


# A record's part with a version of its own, addressed by the record's id: its precondition
# is its own tag (not the record's), checked where it is built (tests/channels).
OWN_VERSION = {"channels_preferences_update"}


def _detail_of(op: Operation) -> Operation | None:
    """The GET operation on the same record, if the API has one."""
    name = _path_params(op)[-1]
    for candidate in operations():
        if candidate.method == "get" and _path_params(candidate) == [name]:
            if candidate.path.endswith("{" + name + "}"):
                return candidate
    return None


def _send(client, op, url, body, if_match):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    method = getattr(client, op.method)
    if body is None:
        return method(url, **headers)
    return method(url, json.dumps(body), content_type="application/json", **headers)


def _row(record):
    return record._meta.model._base_manager.filter(pk=record.pk).values().first()


def _etag_resources(world) -> dict[str, str]:
    """Path parameter → the ETag its record's GET answers with (asked, not assumed)."""
    client = Client()
    client.force_login(world.users["dana"])
    found = {}
    for op in operations():
        params = _path_params(op)
        if op.method != "get" or len(params) != 1 or not op.path.endswith("}"):
            continue
        response = client.get(api_url(op, world))
        if response.status_code == 200 and response.headers.get("ETag"):
            found[params[0]] = response.headers["ETag"]
    return found


def test_the_etag_resources_are_found(world):
    found = _etag_resources(world)
    # The discovery is what the generated test relies on: it must see the known ones.
    assert {"party_id", "deal_id", "lead_id", "activity_id", "product_id", "transaction_id"} <= set(
        found
    ), found
    assert found["deal_id"] == etag(world["deal"])


# Operations whose service refuses the world's record for a reason of its own once the
# precondition has passed: there the current tag is accepted when the answer is that refusal.
REFUSED_AFTER_THE_PRECONDITION = {
    # The world's source is a webhook source, which the network posts to and nobody polls
    # (a feed or Mastodon source would need the network).
    "social_source_poll": 422,
    # The world's segment has mailings sent to it, which keep it.
    "segment_delete": 422,
}


@pytest.mark.parametrize("op", _state_changing_with_a_record(), ids=str)
def test_state_changing_route_honours_if_match(op, world):
    name = _path_params(op)[-1]
    subject = _subject(op, world)
    detail = _detail_of(op)
    has_etag = (
        name == "merge_id" or (detail is not None and name in _etag_resources_cached(world))
    ) and hasattr(subject, "updated_at")
    if not has_etag:
        pytest.skip(f"{op}: its record answers without an ETag, so If-Match does not apply")
    client = Client()
    client.force_login(world.users["dana"])  # may do every operation; If-Match is for all
    url = api_url(op, world)
    body = api_body(op, world)
    current = etag(subject)
    stale = f'"{subject.pk}-0.000000"'
    before = _row(subject)

    def attempt(if_match):
        with transaction.atomic():
            response = _send(client, op, url, body, if_match)
            transaction.set_rollback(True)
        return response

    refused = {
        "stale": stale,
        "weak current": f"W/{current}",
        "list of stale ones": f'{stale}, "nonsense"',
        "malformed": current.strip('"'),
    }
    for label, header in refused.items():
        response = attempt(header)
        assert response.status_code == 412, (label, header, response.status_code, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
        assert _row(subject) == before, f"{op} with a {label} If-Match changed the record"

    accepted = {
        "current": current,
        "star": "*",
        "list holding the current": f'"nonsense", W/{current}, {current}',
        "no header": None,
    }
    for label, header in accepted.items():
        response = attempt(header)
        passed = response.status_code < 300 or (
            response.status_code == REFUSED_AFTER_THE_PRECONDITION.get(op.operation_id)
        )
        assert passed, (label, header, response.status_code, response.content)


_CACHE: dict[int, dict[str, str]] = {}


def _etag_resources_cached(world) -> dict[str, str]:
    if id(world) not in _CACHE:
        _CACHE.clear()
        _CACHE[id(world)] = _etag_resources(world)
    return _CACHE[id(world)]


# --- The comparison itself (RFC 9110 §13.1.1, §8.8.3.2) -------------------------------------


@pytest.mark.parametrize(
    ("header", "current", "matches"),
    [
        ('"1-2.5"', '"1-2.5"', True),
        ('"1-2.5"', '"1-2.6"', False),
        ("*", '"1-2.5"', True),
        ("  * ", '"1-2.5"', True),
        ('W/"1-2.5"', '"1-2.5"', False),  # weak never matches strongly
        ('"a", "1-2.5"', '"1-2.5"', True),
        ('"a",W/"b",   "1-2.5"  ', '"1-2.5"', True),
        ('"a", , "1-2.5"', '"1-2.5"', True),  # empty list elements are allowed
        ('"a,b"', '"a,b"', True),  # a comma inside a tag is part of it
        ('"a,b"', '"a"', False),
        ("1-2.5", '"1-2.5"', False),  # unquoted: malformed, matches nothing
        ('"a" "1-2.5"', '"1-2.5"', False),  # missing comma: malformed
        ('"a", *', '"a"', False),  # "*" only alone
        ("", '"a"', False),  # an empty list holds no tag
    ],
)
def test_if_match_comparison(header, current, matches):
    assert if_match_allows(header, current) is matches


def test_entity_tags_are_read_with_their_weakness():
    assert parse_entity_tags('W/"x", "y"') == [(True, '"x"'), (False, '"y"')]
    assert parse_entity_tags('"x" junk') is None
