"""Spam protection of the public complaint form, and which websites may embed it.

Three independent checks, none of which needs a session or cookie (so they work inside a
third-party iframe, where the browser sends none):

- **Honeypot**: a text field hidden from people (off-screen, ``aria-hidden``, out of the tab
  order). Bots fill every field; a filled honeypot gets the thank-you page and no case.
- **Time trap**: the form carries a stamp signed with ``SECRET_KEY``
  (``django.core.signing``, salted for this form): a random nonce and the time it was issued.
  A submission with a missing or tampered stamp, or sooner than ``form_min_seconds`` after it
  was issued, is refused. The stamp is also the submission's identity: one stamp makes at
  most one case (a double click or a reload after sending shows the same thank-you page).
- **Rate limit**: at most ``form_posts_per_hour`` POSTs per IP address in each clock hour
  (the cache counts them; with Redis or the file cache the count holds across processes).
"""

from __future__ import annotations

import enum
import math
import re
import secrets
import time

from allauth.core.internal.ratelimit import get_ip
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest

from kreis.service.models import ServiceSettings

STAMP_SALT = "kreis.service.public_form.stamp"
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


def _signer() -> signing.Signer:
    return signing.Signer(salt=STAMP_SALT)


def new_stamp(*, at: float | None = None) -> str:
    """A fresh stamp: ``<nonce>:<time, base 62>:<signature>`` — the format of Django's
    ``TimestampSigner``, issued at ``at`` (now by default)."""
    issued = int(time.time() if at is None else at)
    return _signer().sign(f"{secrets.token_urlsafe(12)}:{signing.b62_encode(issued)}")


def check_stamp(value: str, *, min_seconds: int, now: float | None = None) -> Stamp:
    """Whether a submitted stamp is genuine, old enough and not too old."""
    try:
        payload = _signer().unsign((value or "").strip())
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


def _submission_key(stamp: str) -> str:
    return f"kreis:complaint-form:sent:{stamp.rsplit(':', 1)[-1]}"


def claim_submission(stamp: str) -> str | None:
    """Claim the stamp for one submission. None: claimed now, go ahead. Otherwise what it
    already gave: the case number, or "" while that submission is still being saved."""
    key = _submission_key(stamp)
    if cache.add(key, "", STAMP_MAX_AGE + 60):
        return None
    return cache.get(key, "")


def finish_submission(stamp: str, number: str | None) -> None:
    """Record the case the stamp gave (its thank-you page is shown again on a resend), or
    release the claim when nothing was created (invalid input: the visitor corrects it)."""
    key = _submission_key(stamp)
    if number is None:
        cache.delete(key)
    else:
        cache.set(key, number, STAMP_MAX_AGE + 60)


def seconds_until_allowed(request: HttpRequest, *, per_hour: int) -> int | None:
    """Count this POST against the IP address's hourly allowance. None while within it;
    otherwise the seconds until the next clock hour, when it is allowed again."""
    now = time.time()
    key = f"kreis:complaint-form:ip:{get_ip(request)}:{int(now // WINDOW)}"
    cache.add(key, 0, WINDOW + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, WINDOW + 60)
    if count <= per_hour:
        return None
    return max(1, math.ceil(WINDOW - now % WINDOW))


def is_origin(value: str) -> bool:
    """A web origin as CSP's frame-ancestors and postMessage take it: scheme, host, port."""
    return bool(_ORIGIN.match(value))


def embed_origins(config: ServiceSettings) -> list[str]:
    """The configured websites that may frame the form, lower-cased; anything that is not a
    plain origin is left out (it could not be matched, and must not reach a header)."""
    return [o.lower() for o in config.allowed_origins() if is_origin(o.lower())]


def current_settings() -> ServiceSettings:
    """The settings row, or the defaults when none was saved yet — read without creating
    it: a visitor's GET writes nothing."""
    return ServiceSettings.objects.filter(pk=1).select_related("form_category").first() or (
        ServiceSettings()
    )
