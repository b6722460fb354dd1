"""Spam protection shared by Kreis's public forms (the complaint form, the web-to-lead forms).

Three independent checks, none of which needs a session or cookie (so they work inside a
third-party iframe, where the browser sends none):

- **Honeypot** (``honeypot_filled``): a text field hidden from people (off-screen,
  ``aria-hidden``, out of the tab order). Bots fill every field; a filled honeypot gets the
  thank-you answer and nothing is stored.
- **Time trap** (``new_stamp``/``check_stamp``): the form carries a stamp signed with
  ``SECRET_KEY`` (``django.core.signing``, salted per form kind): a random nonce and the time it
  was issued. A missing or tampered stamp, or one sent sooner than the form's minimum seconds
  after it was issued, is refused. The stamp also identifies the submission: one stamp makes at
  most one record (``claim_submission``/``finish_submission``), so a double click or a reload
  after sending shows the same thank-you answer.
- **Rate limit** (``seconds_until_allowed``): at most ``per_hour`` POSTs per IP address in each
  clock hour, counted by ``kreis.core.web.too_many_posts`` in the cache (with Redis or the file
  cache the count holds across processes); over it, the caller answers 429 with
  ``Retry-After`` set to the seconds until the next hour (``throttled``).
"""

from __future__ import annotations

import enum
import math
import re
import secrets
import time

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from kreis.core.web import too_many_posts

# A form left open longer than this is refused once and sent with a fresh stamp.
STAMP_MAX_AGE = 24 * 3600
HONEYPOT = "website"
WINDOW = 3600

_ORIGIN = re.compile(r"^https?://(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$")


class Stamp(enum.StrEnum):
    OK = "ok"
    TOO_FAST = "too_fast"
    INVALID = "invalid"  # missing, tampered or from another form
    EXPIRED = "expired"


def new_stamp(salt: str, *, at: float | None = None) -> str:
    """A fresh stamp for the form kind ``salt``: ``<nonce>:<time, base 62>:<signature>`` — the
    format of Django's ``TimestampSigner``, issued at ``at`` (now by default)."""
    issued = int(time.time() if at is None else at)
    payload = f"{secrets.token_urlsafe(12)}:{signing.b62_encode(issued)}"
    return signing.Signer(salt=salt).sign(payload)


def check_stamp(value: str, salt: str, *, min_seconds: int, now: float | None = None) -> Stamp:
    """Whether a submitted stamp is genuine (signed for ``salt``), old enough and not too old."""
    try:
        payload = signing.Signer(salt=salt).unsign((value or "").strip())
        issued = signing.b62_decode(payload.rsplit(":", 1)[1])
    except (signing.BadSignature, IndexError, ValueError):
        return Stamp.INVALID
    age = (time.time() if now is None else now) - issued
    if age < -60:  # issued in the future: not by this server's clock
        return Stamp.INVALID
    if age > STAMP_MAX_AGE:
        return Stamp.EXPIRED
    if age < min_seconds:
        return Stamp.TOO_FAST
    return Stamp.OK


def _submission_key(scope: str, stamp: str) -> str:
    return f"kreis:{scope}:sent:{stamp.rsplit(':', 1)[-1]}"


def claim_submission(scope: str, stamp: str) -> str | None:
    """Claim the stamp for one submission. None: claimed now, go ahead. Otherwise what it
    already gave (a case number, a submission id), or "" while that one is still being saved."""
    key = _submission_key(scope, stamp)
    if cache.add(key, "", STAMP_MAX_AGE + 60):
        return None
    return cache.get(key, "")


def finish_submission(scope: str, stamp: str, result: str | None) -> None:
    """Record what the stamp gave (its thank-you answer is repeated on a resend), or release
    the claim when nothing was stored (invalid input: the visitor corrects it)."""
    key = _submission_key(scope, stamp)
    if result is None:
        cache.delete(key)
    else:
        cache.set(key, result, STAMP_MAX_AGE + 60)


def honeypot_filled(data) -> bool:
    """Whether the hidden field people never see was filled (by a bot)."""
    value = data.get(HONEYPOT, "") if data is not None else ""
    return bool(str(value or "").strip())


def seconds_until_allowed(
    request: HttpRequest, *, scope: str, per_hour: int, now: float | None = None
) -> int | None:
    """Count this POST against the IP address's allowance for this clock hour. None while
    within it; otherwise the seconds until the next hour, when it is allowed again."""
    now = time.time() if now is None else now
    if not too_many_posts(
        request, scope=f"{scope}:{int(now // WINDOW)}", limit=per_hour, window=WINDOW + 60
    ):
        return None
    return max(1, math.ceil(WINDOW - now % WINDOW))


def throttled(response: HttpResponse, wait: int) -> HttpResponse:
    """The refused POST's answer: 429 Too Many Requests with ``Retry-After`` in seconds."""
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


def is_origin(value: str) -> bool:
    """A web origin as CSP's frame-ancestors and postMessage take it: scheme, host, port."""
    return bool(_ORIGIN.match(value))


def clean_origins(values) -> list[str]:
    """The configured websites, lower-cased and without a trailing slash; anything that is not
    a plain origin is left out (it could not be matched, and must not reach a header)."""
    cleaned = (str(v).strip().lower().rstrip("/") for v in values)
    return [o for o in cleaned if is_origin(o)]


def allow_framing(response: HttpResponse, origins: list[str]) -> HttpResponse:
    """An embeddable page may be framed by Kreis itself and the given websites (CSP
    frame-ancestors, for this response only). X-Frame-Options cannot name other origins: with
    websites given it is left off (browsers obey frame-ancestors); without, SAMEORIGIN. Every
    other page keeps DENY and frame-ancestors 'none' from the settings."""
    response._csp_replace = {"frame-ancestors": ["'self'", *origins]}  # type: ignore[attr-defined]
    if origins:
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    else:
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


def own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}".lower()


def parent_origin(request: HttpRequest, origins: list[str]) -> str:
    """The embedding page's origin, as embed.js passes it (?parent=), if it may embed the
    form: the frame then tells it its height (postMessage to exactly that origin)."""
    parent = (request.GET.get("parent") or "").strip().lower().rstrip("/")
    return parent if parent in origins or parent == own_origin(request) else ""
