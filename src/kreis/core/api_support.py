"""What every API router shares: authentication, problem details, strict input schemas."""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from allauth.core.internal.ratelimit import get_ip
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from ninja import Field, Path, Schema
from ninja.errors import AuthorizationError, HttpError, Throttled
from ninja.pagination import PageNumberPagination
from ninja.schema import DjangoGetter
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import (
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kreis.core.models import User
from kreis.core.queries import apikey_authenticate
from kreis.core.web import EARLIEST_DATE, LATEST_DATE, MAX_ID

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class BrowserSession(APIKeyCookie):
    """The signed-in browser user; unsafe methods need the CSRF token (X-CSRFToken)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        if user.is_authenticated and user.is_active:
            request.api_key = None  # type: ignore[attr-defined]
            return user
        return None


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer kreis_…``: a personal API key, scoped read or read-write."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        # Guessing keys is pointless (256 bits), but a flood of bad ones from one address is
        # answered 429. A valid key is never refused: integrations behind the same address
        # as a misconfigured client keep working.
        key = apikey_authenticate(token)
        if key is None:
            failures_key = f"kreis:api-key-failures:{get_ip(request)}"
            window = settings.API_BAD_KEY_WINDOW
            cache.add(failures_key, 0, window)
            try:
                failures = cache.incr(failures_key)
            except ValueError:  # expired between add and incr
                cache.set(failures_key, failures := 1, window)
            if failures > settings.API_BAD_KEYS:
                raise Throttled(wait=window)
            return None
        if request.method not in SAFE_METHODS and not key.can_write:
            raise AuthorizationError(message="This API key may only read.")
        request.api_key = key  # type: ignore[attr-defined]
        request.user = key.user
        return key.user


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


# NUL as it can arrive: raw, JSON-escaped (\u0000, hex digits are only 0 here), URL-encoded.
_NUL_SPELLINGS = (b"\x00", b"\\u0000", b"%00")


def may_hold_nul(request: HttpRequest) -> bool:
    """Whether a NUL character can be in any value the request brings (body, query string,
    path): False only when none of its spellings occurs. Decided once per request."""
    known = getattr(request, "_kreis_may_hold_nul", None)
    if known is not None:
        return known
    try:
        body = request.body
    except RawPostDataException:  # a multipart upload, already streamed: assume it may
        body = b"\x00"
    query = request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
    raw = b"\n".join((body, query, request.path.encode("utf-8", "surrogatepass")))
    found = any(spelling in raw for spelling in _NUL_SPELLINGS)
    request._kreis_may_hold_nul = found  # type: ignore[attr-defined]
    return found


class Input(Schema):
    """Base of every write schema: a field the API does not accept is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(
        cls, values: Any, handler: ModelWrapValidatorHandler, info: ValidationInfo
    ) -> Any:
        # Ninja validates a schema with extra="forbid" twice: the dict, then the same dict
        # behind a DjangoGetter (for resolvers, which input schemas do not have); nested
        # schemas repeat that per level, so each line of a bulk body was validated 2³ = 8
        # times (half the CPU of POST /transactions/bulk). A JSON body is a dict: once is
        # the same result and the same errors.
        if isinstance(values, dict):
            return handler(values)
        handler(values)
        return handler(DjangoGetter(values, cls, info.context))

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any, info: ValidationInfo) -> Any:
        # PostgreSQL cannot store NUL in text; refuse it on every database alike — also
        # inside lists (tags) and objects (custom fields). A request whose raw text holds
        # no NUL in any spelling cannot have one in a value: its fields skip the deep scan
        # (a third of the validation of a bulk body of 1,000 items).
        request = (info.context or {}).get("request")
        if request is not None and not may_hold_nul(request):
            return value
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


PROBLEM_RESPONSES: dict[int, type[Schema]] = {
    412: Problem,
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    422: Problem,
}


ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
# A date a query may ask for (a forecast's first month …): within the calendar Kreis works in.
DateValue = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
SearchText = Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")]


class Pagination(PageNumberPagination):
    """``page`` and ``page_size`` (at most 500), bounded so no database is asked the absurd."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=500)


MAX_BULK = 1000


def without_cycle_collection(run: Callable[..., Any]) -> Callable[..., Any]:
    """A bulk route's whole run (body validation, the writes, the answer) with Python's
    cycle collector off, for ``ninja.decorators.decorate_view``. A body of 1,000 items keeps
    ~100 objects an item alive until the answer: collected as they came, the young
    collections promoted them to the oldest generation, whose growth started a full
    collection (every object of the process) every second or third request — a third of the
    CPU of ``POST /persons/bulk`` on the benchmark's client, and in ``kreis serve`` a full
    collection after each such response (``kreis.core.warmup``). Off, the request's objects
    stay young: most are freed by their reference counts when the request ends, and the first
    young collection afterwards walks only what is left. The same as an import's chunk
    (``kreis.migration.runs.fewer_collections``); bounded by ``MAX_BULK`` items. Switched
    back on only by the request that switched it off (other threads may hold it off too)."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return run(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


def bulk_create_all_or_nothing(rows: list, create_one: Callable[[Any], Any]) -> list:
    """Create every row with ``create_one`` in one transaction — all or nothing.

    Every row is tried, so the caller learns all problems at once; if any row fails, nothing
    is kept and a ValidationError names each failure as ``items.<row>.<field>`` (the API turns
    these into per-row errors)."""
    errors: dict[str, list[str]] = {}
    created = []
    with transaction.atomic():
        for index, row in enumerate(rows):
            try:
                with transaction.atomic():
                    created.append(create_one(row))
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, messages in exc.message_dict.items():
                        errors[f"items.{index}.{field}"] = messages
                else:
                    errors[f"items.{index}"] = exc.messages
            except Http404:
                errors[f"items.{index}"] = ["A referenced record does not exist or is not yours."]
            except PermissionDenied:
                errors[f"items.{index}"] = ["You may not create this record."]
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(errors)
    return created


def etag(record: Any) -> str:
    """The record's version for ``ETag``/``If-Match``: it changes whenever the record is saved.
    A strong tag: two representations with the same tag are byte-for-byte the same version."""
    return f'"{record.pk}-{record.updated_at.timestamp():.6f}"'


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
# A comma is a legal etagc, so a list is read tag by tag, never split on commas.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|$)')
_EMPTY_ELEMENT = re.compile(r"[ \t]*,")


def parse_entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """The ``(weak, opaque-tag)`` pairs of an ``If-Match`` list, or ``None`` if it is malformed.
    Empty list elements (``"a", , "b"``) are allowed, as RFC 9110 §5.6.1 asks."""
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(value):
        empty = _EMPTY_ELEMENT.match(value, position)
        if empty:
            position = empty.end()
            continue
        if not value[position:].strip(" \t"):
            break
        found = _ENTITY_TAG.match(value, position)
        if found is None or found.end() == position:
            return None
        tags.append((found.group(1) is not None, found.group(2)))
        position = found.end()
    return tags


def if_match_allows(header: str, current: str) -> bool:
    """RFC 9110 §13.1.1: ``*`` matches any current representation; otherwise one of the listed
    tags must match ``current`` by *strong* comparison (§8.8.3.2) — a weak tag ``W/"…"``
    never matches, even with the same opaque tag, because a weak tag only promises an
    equivalent representation, and a write based on it could overwrite a change. A malformed
    or empty list matches nothing."""
    if header.strip(" \t") == "*":
        return True
    tags = parse_entity_tags(header)
    return bool(tags) and any(not weak and tag == current for weak, tag in tags)


def check_if_match(request: HttpRequest, record: Any) -> None:
    """With ``If-Match``, a write on a version someone else has changed since is refused (412).
    Every state-changing API route of a resource that answers with an ``ETag`` calls this
    before it changes anything; without the header the write is unconditional."""
    wanted = request.headers.get("If-Match")
    if wanted is not None and not if_match_allows(wanted, etag(record)):
        raise HttpError(
            412, f"The {record._meta.model_name} was changed by someone else; fetch it again."
        )


def with_etag(response: HttpResponse, record: Any) -> Any:
    """``record`` as the answer, with its version in the ``ETag`` header."""
    response["ETag"] = etag(record)
    return record


def if_match_write(
    request: HttpRequest,
    record: Any,
    change: Callable[[Any], Any],
    response: HttpResponse | None = None,
) -> Any:
    """The body of a write route on a versioned record, fetched with the caller's object
    permission: refused with 412 (and nothing changed) when ``If-Match`` names another version,
    else ``change(record)`` — the service call. Given the route's ``response``, what ``change``
    returns (the changed record) goes back with its new ``ETag``; a delete passes none and
    answers 204 itself."""
    check_if_match(request, record)
    changed = change(record)
    return changed if response is None else with_etag(response, changed)
