"""Sending a mailing: claiming recipients, the checks right before each send, the hand-over
to SMTP, and the recovery after a worker stopped.

**At most once.** A recipient row goes ``queued → claimed → sent | skipped | failed``:

1. A worker claims a batch: ``UPDATE … SET state='claimed', claim_token=T WHERE id IN (the
   next queued ids) AND state='queued'`` (on PostgreSQL the ids are read with ``SELECT … FOR
   UPDATE SKIP LOCKED``; on SQLite the write lock serialises claims). Only rows still queued
   change, so no two workers ever hold the same row.
2. The worker goes through its batch in id order. Right before each send it reads the
   suppression list, the address's bounce status and the consent afresh (a withdrawal during
   a running mailing applies to the next mail). A skipped row is marked with its reason. A
   sent row is marked sent — with its Message-ID and its timeline activity — in the
   transaction committed right after the SMTP server accepted the message (its 250 reply to
   DATA); nothing else runs between that reply and the commit.
3. Right before each send the worker renews its claim's lease (``renew``) and stops if the
   claim is no longer its own. So every row reaches its final state, committed, before the
   next row's send begins, and a live worker never loses a row it is sending. When a
   worker is killed, the rows of its claim still ``claimed`` are at most one whose hand-over
   may have happened — the lowest id, the one in flight — and rows it never started. Once the
   claim's lease has run out (``MAILING_CLAIM_LEASE`` seconds, longer than one send takes),
   ``recover_stale`` marks that first row ``uncertain`` — it is *not* sent again and the
   results show it — and puts the others back in the queue, where any worker takes them.

Guarantee: nobody gets a mailing twice; per killed worker at most one recipient is left
``uncertain`` (the mail went out or not — SMTP gives no way to ask). A refused mail
(``failed``) is not retried.

**Throttle.** A mailing sends ``rate`` messages per second (else ``MAILING_RATE``), shared by
its ``MAILING_WORKERS`` parallel jobs; each job paces itself to its share.
"""

from __future__ import annotations

import datetime as dt
import secrets
import smtplib
import time
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import Truncator

from kreis.activities.models import Activity, ActivityKind
from kreis.activities.models import Direction as ActivityDirection
from kreis.channels.models import Channel
from kreis.channels.services import preference_of
from kreis.comms.merge import merge_values, render_text
from kreis.comms.models import AddressStatus
from kreis.comms.queries import template_for_language
from kreis.mailings.models import (
    Mailing,
    MailingState,
    Recipient,
    RecipientState,
    SkipReason,
    Suppression,
)
from kreis.marketing.consent import services as consent
from kreis.marketing.models import Consent, ConsentChannel, ConsentStatus, MarketingSettings


def default_rate() -> int:
    return max(1, int(getattr(settings, "MAILING_RATE", 20)))


def claim_lease() -> float:
    return float(getattr(settings, "MAILING_CLAIM_LEASE", 120))


def workers() -> int:
    return max(1, int(getattr(settings, "MAILING_WORKERS", 2)))


def rate_of(mailing: Mailing) -> int:
    return mailing.rate or default_rate()


def sender_domain() -> str:
    config = MarketingSettings.load()
    address = config.sender_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "kreis.invalid"


def message_id_for(recipient: Recipient, domain: str) -> str:
    """Fixed per recipient row, so a reply's In-Reply-To finds the row even for a mail whose
    sending was never recorded."""
    return f"<kreis-mailing-{recipient.mailing_id}-{recipient.pk}@{domain}>"


# --- content ----------------------------------------------------------------------------------


@dataclass
class Content:
    subject: str
    body: str
    language: str


def content_for(mailing: Mailing, *, party=None, language: str = "de", cache=None) -> Content:
    """The mail of ``mailing`` for ``party`` in ``language``: the comms template of that name
    in the language (else in the other one), else the mailing's own subject and text; merge
    fields filled by comms (``merge_values``/``render_text``)."""
    subject, body, used = mailing.subject, mailing.body, language
    if mailing.template_name:
        key = (mailing.template_name, language)
        if cache is not None and key in cache:
            template = cache[key]
        else:
            template = template_for_language(name=mailing.template_name, language=language)
            if cache is not None:
                cache[key] = template
        if template is not None:
            subject, body, used = template.subject, template.body, template.language
    values = merge_values(party=party, owner=mailing.owner)
    return Content(render_text(subject, values), render_text(body, values), used)


# --- the checks before each send --------------------------------------------------------------


def suppressed(address: str) -> bool:
    domain = address.rpartition("@")[2]
    return Suppression.objects.filter(
        Q(value=address, is_domain=False) | Q(value=domain, is_domain=True)
    ).exists()


def hard_bounced(address: str) -> bool:
    return AddressStatus.objects.filter(address=address, hard_bounced_at__isnull=False).exists()


def _no_consent_reason(*, purpose: str, party, address: str) -> str:
    latest = (
        Consent.objects.filter(Q(party=party) | Q(email__iexact=address))
        .filter(purpose=purpose, channel=ConsentChannel.EMAIL)
        .order_by("-requested_at", "-pk")
        .values_list("status", flat=True)
        .first()
    )
    if latest == ConsentStatus.WITHDRAWN:
        return SkipReason.CONSENT_WITHDRAWN
    if latest == ConsentStatus.PENDING:
        return SkipReason.CONSENT_PENDING
    return SkipReason.NO_CONSENT


def check(recipient: Recipient, *, purpose: str) -> tuple[Consent | None, str]:
    """Whether the recipient may get the mail *now*: (the consent that allows it, "") or
    (None, the reason to skip). Read from the database on every call."""
    address = recipient.email
    if not address:
        return None, SkipReason.NO_ADDRESS
    if suppressed(address):
        return None, SkipReason.SUPPRESSED
    if hard_bounced(address):
        return None, SkipReason.HARD_BOUNCE
    if preference_of(recipient.party).opted_out(Channel.EMAIL):
        return None, SkipReason.OPTED_OUT
    found = consent.contact_consent(
        purpose=purpose, channel=ConsentChannel.EMAIL, party=recipient.party, email=address
    )
    if found is None:
        return None, _no_consent_reason(purpose=purpose, party=recipient.party, address=address)
    return found, ""


# --- claiming and recovering ------------------------------------------------------------------


def claim_batch(mailing_id: int, size: int) -> str | None:
    """Claim up to ``size`` queued recipients for this worker; the claim's token, or None
    when none is queued."""
    token = secrets.token_hex(16)
    with transaction.atomic():
        queued = Recipient.objects.filter(mailing_id=mailing_id, state=RecipientState.QUEUED)
        if db_connection.vendor == "postgresql":
            queued = queued.select_for_update(skip_locked=True)
        ids = list(queued.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return None
        claimed = Recipient.objects.filter(pk__in=ids, state=RecipientState.QUEUED).update(
            state=RecipientState.CLAIMED, claim_token=token, claimed_at=timezone.now()
        )
    return token if claimed else claim_batch(mailing_id, size)


def renew(token: str) -> bool:
    """Right before each send: extend the claim's lease and make sure it is still ours. A
    claim ``recover_stale`` took over (its rows reset together, in one transaction) renews
    nothing, and the worker sends none of its rows."""
    return bool(
        Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED).update(
            claimed_at=timezone.now()
        )
    )


def release(token: str) -> int:
    """Give a claim's unstarted rows back to the queue (pause, cancel, shutdown)."""
    return Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED).update(
        state=RecipientState.QUEUED, claim_token="", claimed_at=None
    )


def recover_stale(mailing_id: int, *, lease: float | None = None) -> tuple[int, int]:
    """Claims older than the lease belong to a worker that stopped: the first unfinished row
    of each is ``uncertain`` (it may have been handed to SMTP), the rest queued again.
    Returns (queued again, uncertain)."""
    cutoff = timezone.now() - dt.timedelta(seconds=claim_lease() if lease is None else lease)
    tokens = set(
        Recipient.objects.filter(
            mailing_id=mailing_id, state=RecipientState.CLAIMED, claimed_at__lt=cutoff
        ).values_list("claim_token", flat=True)
    )
    requeued = uncertain = 0
    for token in tokens:
        with transaction.atomic():
            rows = Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED)
            first = rows.order_by("pk").values_list("pk", flat=True).first()
            if first is None:
                continue
            uncertain += Recipient.objects.filter(pk=first, state=RecipientState.CLAIMED).update(
                state=RecipientState.UNCERTAIN, claim_token=""
            )
            requeued += release(token)
    return requeued, uncertain


# --- one recipient ----------------------------------------------------------------------------


@dataclass
class Outcome:
    state: str
    reason: str = ""
    error: str = ""
    consent: Consent | None = None
    message_id: str = ""
    subject: str = ""


def deliver(
    recipient: Recipient, *, mailing: Mailing, connection, domain: str, cache: dict
) -> Outcome:
    """Check and hand one recipient's mail to SMTP (through ``send_marketing_mail``, which
    adds the unsubscribe link and the List-Unsubscribe headers). Writes nothing of its own:
    ``record`` does, right after."""
    allowed, reason = check(recipient, purpose=mailing.purpose)
    if allowed is None:
        return Outcome(RecipientState.SKIPPED, reason=reason)
    content = content_for(mailing, party=recipient.party, language=recipient.language, cache=cache)
    message_id = message_id_for(recipient, domain)
    try:
        consent.send_marketing_mail(
            purpose=mailing.purpose,
            subject=content.subject,
            text=content.body,
            consent=allowed,
            email=recipient.email,
            base_url=mailing.link_base or None,
            headers={"Message-ID": message_id, "X-Kreis-Mailing": str(mailing.pk)},
            on_commit=False,
            connection=connection,
        )
    except consent.NoConsent:
        return Outcome(RecipientState.SKIPPED, reason=SkipReason.NO_CONSENT)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(RecipientState.FAILED, error=str(exc)[:300])
    return Outcome(
        RecipientState.SENT, consent=allowed, message_id=message_id, subject=content.subject
    )


def _activity(recipient: Recipient, mailing: Mailing, outcome: Outcome, now) -> Activity:
    """The mailing on the recipient's timeline: an outbound e-mail, once per recipient."""
    party = recipient.party
    return Activity.objects.create(
        kind=ActivityKind.EMAIL,
        subject=Truncator(outcome.subject or mailing.name).chars(200),
        body=f"<p>{escape(mailing.name)}</p>",
        occurred_at=now,
        done_at=now,
        direction=ActivityDirection.OUTBOUND,
        party=party,
        owner=mailing.owner,
        team_id=party.team_id,
        external_id=f"mailing:{recipient.pk}",
    )


def record(recipient: Recipient, *, token: str, mailing: Mailing, outcome: Outcome) -> None:
    """The outcome of one row, committed at once (see the module's docstring)."""
    now = timezone.now()
    fields = {"state": outcome.state, "claim_token": ""}
    if outcome.state == RecipientState.SENT:
        fields |= {
            "sent_at": now,
            "message_id": outcome.message_id,
            "consent_id": outcome.consent.pk if outcome.consent else None,
        }
    elif outcome.state == RecipientState.SKIPPED:
        fields["skip_reason"] = outcome.reason
    else:
        fields["error"] = outcome.error
    with transaction.atomic():
        changed = Recipient.objects.filter(
            pk=recipient.pk, claim_token=token, state=RecipientState.CLAIMED
        ).update(**fields)
        if changed and outcome.state == RecipientState.SENT:
            _activity(recipient, mailing, outcome, now)


# --- the worker loop --------------------------------------------------------------------------


@dataclass
class RunResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    stopped: str = ""
    counts: dict = field(default_factory=dict)


def _state(mailing_id: int) -> str | None:
    return Mailing.objects.filter(pk=mailing_id).values_list("state", flat=True).first()


def finish_if_done(mailing_id: int) -> bool:
    """Mark the mailing finished when no recipient is queued or being sent."""
    busy = Recipient.objects.filter(
        mailing_id=mailing_id, state__in=(RecipientState.QUEUED, RecipientState.CLAIMED)
    ).exists()
    if busy:
        return False
    return bool(
        Mailing.objects.filter(pk=mailing_id, state=MailingState.SENDING).update(
            state=MailingState.FINISHED, finished_at=timezone.now(), updated_at=timezone.now()
        )
    )


def run(
    mailing_id: int,
    *,
    share: int = 1,
    max_messages: int | None = None,
    wait_for_others: bool = True,
) -> RunResult:
    """Send a mailing's queued recipients until none is left, the mailing is paused or
    cancelled, or ``max_messages`` rows were done. ``share``: how many jobs send this mailing
    side by side (each paces itself to rate/share)."""
    result = RunResult()
    mailing = Mailing.objects.select_related("owner").filter(pk=mailing_id).first()
    if mailing is None:
        result.stopped = "missing"
        return result
    interval = share / rate_of(mailing)
    # A batch takes about a second, far below the claim's lease (renewed before each send).
    batch = max(1, min(50, int(1 / interval)))
    domain = sender_domain()
    cache: dict = {}
    connection = get_connection(fail_silently=False)
    next_at = time.monotonic()
    done = 0
    try:
        while True:
            state = _state(mailing_id)
            if state != MailingState.SENDING:
                result.stopped = state or "missing"
                break
            recover_stale(mailing_id)
            token = claim_batch(mailing_id, batch)
            if token is None:
                others = Recipient.objects.filter(
                    mailing_id=mailing_id, state=RecipientState.CLAIMED
                ).exists()
                if others and wait_for_others:
                    time.sleep(min(1.0, claim_lease()))
                    continue
                finish_if_done(mailing_id)
                result.stopped = "done"
                break
            rows = (
                Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED)
                .select_related("party")
                .prefetch_related("party__contact_points")
                .order_by("pk")
            )
            for recipient in rows:
                if _state(mailing_id) != MailingState.SENDING or (
                    max_messages is not None and done >= max_messages
                ):
                    break
                if not renew(token):
                    break  # the claim was taken over (lease run out): send none of it
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at = max(next_at, time.monotonic() - 1) + interval
                outcome = deliver(
                    recipient, mailing=mailing, connection=connection, domain=domain, cache=cache
                )
                record(recipient, token=token, mailing=mailing, outcome=outcome)
                done += 1
                if outcome.state == RecipientState.SENT:
                    result.sent += 1
                elif outcome.state == RecipientState.SKIPPED:
                    result.skipped += 1
                else:
                    result.failed += 1
            release(token)
            if max_messages is not None and done >= max_messages:
                result.stopped = "limit"
                break
    finally:
        connection.close()
    return result
