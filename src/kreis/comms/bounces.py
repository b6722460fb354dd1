"""Delivery status notifications (bounces): RFC 3464 reports, ``multipart/report;
report-type=delivery-status`` with a ``message/delivery-status`` part holding one block per
recipient (``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``).

The status code's class decides (RFC 3463): ``5.x.x`` is a permanent failure — a *hard*
bounce, the address is marked invalid; ``4.x.x`` (and ``Action: delayed``) is transient — a
*soft* bounce, counted. ``2.x.x`` (delivered, relayed) changes nothing.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage

from django.utils import timezone

from kreis.comms.models import AddressStatus

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class Bounce:
    address: str
    status: str
    hard: bool
    diagnostic: str


def _blocks(part: EmailMessage) -> list:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    text = payload if isinstance(payload, str) else ""
    # Some writers put the blocks as text: blank-line separated header groups.
    return [
        email.message_from_string(block.strip() + "\n", policy=email.policy.default)
        for block in re.split(r"\r?\n\s*\r?\n", text)
        if block.strip()
    ]


def parse_bounces(raw: bytes) -> list[Bounce]:
    """The per-recipient outcomes of a delivery report; [] for any other mail."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if message.get_content_type() != "multipart/report":
        return []
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _blocks(part):
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            address = recipient.partition(";")[2].strip().strip("<>").lower() or recipient
            status = _STATUS.search(str(block.get("Status") or ""))
            action = str(block.get("Action") or "").strip().lower()
            if "@" not in address or (status is None and action != "delayed"):
                continue
            code = status.group(0) if status else "4.0.0"
            if code.startswith("2"):
                continue
            found.append(
                Bounce(
                    address=address,
                    status=code,
                    hard=code.startswith("5") and action != "delayed",
                    diagnostic=str(block.get("Diagnostic-Code") or "")[:2000],
                )
            )
    return found


def bounce_record(*, bounce: Bounce) -> AddressStatus:
    """Count the bounce on its address: a hard one marks it invalid (kept until a person clears
    it), a soft one adds to the count."""
    status, _created = AddressStatus.objects.get_or_create(address=bounce.address)
    now = timezone.now()
    if bounce.hard:
        status.hard_bounced_at = status.hard_bounced_at or now
    else:
        status.soft_bounces += 1
    status.last_bounce_at = now
    status.last_status = bounce.status
    status.last_diagnostic = bounce.diagnostic
    status.save()
    return status
