"""One signed POST of a webhook, through the shared guard for outgoing requests.

``kreis.core.netguard.fetch`` refuses targets on loopback, private, link-local (metadata),
shared, reserved or multicast addresses in any spelling, resolves the host at send time,
checks every address and connects to the checked one (no DNS rebinding). Redirects are not
followed: a 3xx is a failed attempt. An administrator's explicit permission on the subscription
(``allow_private_target``) is its ``allow_private``. Here: the Standard Webhooks headers, a
short timeout, and the start of the receiver's answer for the delivery log.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from kreis import __version__
from kreis.core import netguard

TIMEOUT = 10.0
MAX_ANSWER = 64 * 1024  # a receiver's answer is an acknowledgement, not a download
EXCERPT_CHARS = 2000
USER_AGENT = f"Kreis-Webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None if no answer came
    excerpt: str  # the start of the answer
    error: str = ""  # what went wrong, if anything

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature_headers(
    *, secrets: list[str], webhook_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers; with several secrets (during a rotation) one signature
    per secret, separated by spaces, as the specification allows."""
    signatures = " ".join(
        Webhook(secret).sign(msg_id=webhook_id, timestamp=timestamp, data=body)
        for secret in secrets
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a target when it is saved for what sending would refuse (raises TargetRefused):
    every spelling of a private address, and names resolving there now. A name that does not
    resolve at the moment is accepted — sending resolves and checks it again anyway."""
    target = netguard.parse_target(url)
    try:  # metadata services are refused here whatever is allowed, resolvable or not
        netguard.resolve(target, allow_private=allow_private)
    except netguard.TargetRefused as exc:
        if not isinstance(exc.__cause__, socket.gaierror | UnicodeError):
            raise


def post(*, url: str, allow_private: bool, body: bytes, headers: dict[str, str]) -> Outcome:
    """Send once. Never raises for what the network or the receiver does: the outcome says."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        answer = netguard.fetch(
            url,
            method="POST",
            headers=sent,
            body=body,
            timeout=TIMEOUT,
            max_bytes=MAX_ANSWER,
            allow_private=allow_private,
            follow_redirects=False,  # a 3xx is a failed attempt; its Location is unchecked
        )
    except netguard.TargetRefused as exc:
        return Outcome(None, "", str(exc))
    except netguard.ResponseTooLarge:
        return Outcome(None, "", _("The receiver's answer was too large."))
    except TimeoutError:
        return Outcome(None, "", _("The receiver did not answer in time."))
    except OSError as exc:
        return Outcome(None, "", str(exc) or type(exc).__name__)
    excerpt = answer.body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
    return Outcome(answer.status, excerpt)
