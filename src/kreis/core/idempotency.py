"""``Idempotency-Key`` for every ``POST`` of the REST API: a retried request has one effect.

A client that is not sure its ``POST`` arrived (a timeout, a dropped connection) sends it again
with the same ``Idempotency-Key`` header (any string of 1–255 visible characters, e.g. a
UUID). The first request with a key is answered as usual and its answer kept for 24 hours
(``IdempotencyKey``); a later request from the same user with the same key gets

- the same method, path, query and body: **the kept answer again** (status, body,
  ``Content-Type``, ``Location``, ``ETag``), marked ``Idempotent-Replayed: true``, with no
  second effect;
- another path or body: **422** (``urn:kreis:problem:idempotency-key-reused``);
- while the first is still being answered: **409** with ``Retry-After``.

Keys belong to a user: another user's request with the same key is independent. The body is
compared by its SHA-256: raw bytes for JSON and forms; for ``multipart/form-data`` uploads its
fields and the files' names and contents, so a client that builds the same upload again with
a new boundary still matches. Answers that say nothing about the request itself are not
kept, so a retry is tried afresh: 5xx, 401, 403, 408, 409, 429. A first request whose worker
died (no answer within ``STALE_AFTER``) no longer blocks its key.

It is one middleware (not a decorator per route), so every ``POST`` route under ``/api/v1/``
has it, including those added later. Expired keys are deleted by the nightly housekeeping.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from kreis.core.models import ApiKey, IdempotencyKey, hash_api_key

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=10)
NOT_KEPT = {401, 403, 408, 409, 429}
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Content-Disposition", "Link")
PREFIX = "/api/v1/"


def _problem(
    request: HttpRequest, status: int, title: str, detail: str, type_: str
) -> HttpResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail}
    body["instance"] = request.path
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def _user_id(request: HttpRequest) -> int | None:
    """Whose key it is: the API key's user (as the API's own authentication would find
    them), else the signed-in browser user; None lets the API answer 401 as usual."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return (
            ApiKey.objects.filter(
                key_hash=hash_api_key(token.strip()), revoked_at=None, user__is_active=True
            )
            .values_list("user_id", flat=True)
            .first()
        )
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 of what makes two requests the same: method, path, query, and the body."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    if request.content_type == "multipart/form-data":
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(f"field\0{name}\0{value}\0".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(f"file\0{name}\0{upload.name}\0".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
                digest.update(b"\0")
    else:
        digest.update(request.content_type.encode() + b"\0")
        digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status)
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    add_never_cache_headers(response)  # an answer for a signed-in user, as the first one was
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path.startswith(PREFIX):
            return self.get_response(request)
        if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
            return _problem(
                request,
                400,
                "Bad Request",
                f"{HEADER} must be 1 to 255 visible ASCII characters.",
                "urn:kreis:problem:idempotency-key-invalid",
            )
        user_id = _user_id(request)
        if user_id is None:
            return self.get_response(request)
        try:
            fingerprint = request_fingerprint(request)
        except (RequestDataTooBig, MultiPartParserError):
            return self.get_response(request)  # the API answers these itself (413, 400)
        record, answer = self._claim(request, user_id, key, fingerprint)
        if answer is not None:
            return answer
        response = self.get_response(request)
        self._keep(record, response)
        return response

    def _claim(
        self, request: HttpRequest, user_id: int, key: str, fingerprint: str
    ) -> tuple[IdempotencyKey | None, HttpResponse | None]:
        """Take the key for this request, or the answer to give instead of running it."""
        for _attempt in range(3):
            now = timezone.now()
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user_id=user_id,
                        key=key,
                        path=request.path[:500],
                        request_hash=fingerprint,
                        created_at=now,
                    )
                return record, None
            except IntegrityError:
                pass
            found = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
            if found is None:
                continue  # deleted meanwhile: take it
            if found.created_at < now - KEEP_FOR:
                IdempotencyKey.objects.filter(pk=found.pk, created_at=found.created_at).delete()
                continue
            if found.request_hash != fingerprint:
                return None, _problem(
                    request,
                    422,
                    "Unprocessable Content",
                    f"This {HEADER} was used for a different request (another path or body) "
                    "within the last 24 hours. Use a new key for a new request.",
                    "urn:kreis:problem:idempotency-key-reused",
                )
            if found.completed_at is not None:
                return None, _replay(found)
            if found.created_at < now - STALE_AFTER:
                # The first request never finished (its worker died): this one takes over.
                taken = IdempotencyKey.objects.filter(
                    pk=found.pk, completed_at=None, created_at=found.created_at
                ).update(created_at=now)
                if taken:
                    found.created_at = now
                    return found, None
                continue
            answer = _problem(
                request,
                409,
                "Conflict",
                f"A request with this {HEADER} is still being processed. Retry shortly.",
                "urn:kreis:problem:idempotency-key-in-use",
            )
            answer["Retry-After"] = "1"
            return None, answer
        return None, _problem(
            request,
            409,
            "Conflict",
            f"The {HEADER} could not be claimed. Retry shortly.",
            "urn:kreis:problem:idempotency-key-in-use",
        )

    def _keep(self, record: IdempotencyKey | None, response: HttpResponse) -> None:
        if record is None:
            return
        keep = (
            not isinstance(response, StreamingHttpResponse)
            and response.status_code < 500
            and response.status_code not in NOT_KEPT
        )
        if not keep:
            IdempotencyKey.objects.filter(pk=record.pk).delete()  # the key is free again
            return
        headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
        IdempotencyKey.objects.filter(pk=record.pk).update(
            completed_at=timezone.now(),
            status=response.status_code,
            headers=headers,
            body=response.content,
        )


def purge_expired(*, now=None) -> int:
    """Delete the keys older than 24 hours (nightly housekeeping)."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
