"""Spam protection of the public complaint form, and which websites may embed it.

The checks themselves (honeypot, signed time trap, per-IP rate limit) are shared with the
web-to-lead forms in ``kreis.core.publicforms``; this module binds them to the complaint form:
its stamp salt, its rate-limit scope and its settings (``ServiceSettings``).
"""

from __future__ import annotations

from django.http import HttpRequest

from kreis.core import publicforms
from kreis.core.publicforms import HONEYPOT, STAMP_MAX_AGE, Stamp, is_origin  # noqa: F401
from kreis.service.models import ServiceSettings

STAMP_SALT = "kreis.service.public_form.stamp"
SCOPE = "complaint-form"


def new_stamp(*, at: float | None = None) -> str:
    """A fresh stamp of the complaint form, issued at ``at`` (now by default)."""
    return publicforms.new_stamp(STAMP_SALT, at=at)


def check_stamp(value: str, *, min_seconds: int, now: float | None = None) -> Stamp:
    """Whether a submitted stamp is genuine, old enough and not too old."""
    return publicforms.check_stamp(value, STAMP_SALT, min_seconds=min_seconds, now=now)


def claim_submission(stamp: str) -> str | None:
    """Claim the stamp for one case. None: claimed now, go ahead. Otherwise what it already
    gave: the case number, or "" while that submission is still being saved."""
    return publicforms.claim_submission(SCOPE, stamp)


def finish_submission(stamp: str, number: str | None) -> None:
    """Record the case the stamp gave, or release the claim when nothing was created."""
    publicforms.finish_submission(SCOPE, stamp, number)


def seconds_until_allowed(request: HttpRequest, *, per_hour: int) -> int | None:
    """None while the IP address is within its hourly allowance; else the seconds to wait."""
    return publicforms.seconds_until_allowed(request, scope=SCOPE, per_hour=per_hour)


def embed_origins(config: ServiceSettings) -> list[str]:
    """The configured websites that may frame the form, lower-cased; anything that is not a
    plain origin is left out (it could not be matched, and must not reach a header)."""
    return publicforms.clean_origins(config.allowed_origins())


def current_settings() -> ServiceSettings:
    """The settings row, or the defaults when none was saved yet — read without creating
    it: a visitor's GET writes nothing."""
    return ServiceSettings.objects.filter(pk=1).select_related("form_category").first() or (
        ServiceSettings()
    )
