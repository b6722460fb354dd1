"""Sending a mailing: claiming recipients, the checks right before each send, the hand-over
to SMTP, and the recovery after a worker stopped.

**At most once.** A recipient row goes ``queued → claimed → sent | skipped | failed``:

1. A worker claims a batch: ``UPDATE … SET state='claimed', claim_token=T WHERE id IN (the
   next queued ids) AND state='queued'`` (on PostgreSQL the ids are read with ``SELECT … FOR
   UPDATE SKIP LOCKED``; on SQLite the write lock serialises claims). Only rows still queued
   change, so no two workers ever hold the same row.
2. The worker reads the checks of the whole batch at once (``batch_checks``: suppression
   list, hard bounces, channel opt-outs, consents) and goes through its rows in id order.
   Right before each send it reads again what may have changed since: suppression, bounce
   status and opt-out in one query (``blocked_now``), and the consent inside
   ``send_marketing_mail`` (a withdrawal during a running mailing applies to the next mail).
   A skipped row is marked with its reason; a sent row is marked sent with its Message-ID and
   its timeline activity.
3. Outcomes are committed in small steps (``commit_step``): one transaction writes the
   outcomes of the rows sent since the last step, renews the claim's lease (``renew``) and
   marks the next ``GROUP`` rows as started (``mark_started``: their Message-ID set while
   still claimed). A step comes every ``GROUP`` rows and whenever ``renew_interval()`` (a
   quarter of the lease, at most 1 s) has passed before a send, so no send begins on a lease
   older than that, and a worker whose claim was taken over (``renew`` finds none of its
   rows) stops before its next send. When a worker is killed, its rows still ``claimed``
   are the marked ones, whose hand-over may have happened, and rows it never started. Once
   the claim's lease has run out (``MAILING_CLAIM_LEASE`` seconds), ``recover_stale`` marks
   the marked rows ``uncertain`` (with no mark: the lowest unfinished row) — they are *not*
   sent again and the results show them — and puts the others back in the queue, where any
   worker takes them.

Guarantee: nobody gets a mailing twice; per killed worker at most ``GROUP`` recipients are
left ``uncertain`` (the mail went out or not — SMTP gives no way to ask). A refused mail
(``failed``) is not retried. Pause and cancel are read at most once a second: a worker stops
within a second and gives its unstarted rows back (``release``).

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
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat, Lower
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import Truncator

from kreis.activities.models import Activity, ActivityKind
from kreis.activities.models import Direction as ActivityDirection
from kreis.channels.models import Channel, ChannelPreference
from kreis.channels.services import preference_of
from kreis.comms.merge import merge_values, render_text
from kreis.comms.models import AddressStatus
from kreis.comms.queries import template_for_language
from kreis.core.signals import announce_bulk_created
from kreis.mailings.models import (
    Mailing,
    MailingState,
    Recipient,
    RecipientState,
    SkipReason,
    Suppression,
)
from kreis.marketing.consent import services as consent
from kreis.marketing.models import (
    MARKETING_PURPOSES,
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentStatus,
    MarketingSettings,
)


def default_rate() -> int:
    return max(1, int(getattr(settings, "MAILING_RATE", 20)))


def claim_lease() -> float:
    return float(getattr(settings, "MAILING_CLAIM_LEASE", 120))


def renew_interval() -> float:
    """How long a worker sends on one renewal of its lease: a quarter of the lease, at most a
    second. Far below the lease, so the lease of a live worker never runs out mid-batch; a
    send that stalls longer makes the worker renew (and find a lost claim) before the next."""
    return min(1.0, claim_lease() / 4)


# Rows marked as being sent, and their outcomes recorded, in one transaction: a killed worker
# leaves at most this many rows ``uncertain``.
GROUP = 10


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


def _purpose_match(consent: Consent, purpose: str) -> bool:
    """``valid_consents``' purpose rule: an existing customer's e-mail consent counts for every
    advertising purpose."""
    return consent.purpose == purpose or (
        purpose in MARKETING_PURPOSES
        and consent.basis == ConsentBasis.EXISTING_CUSTOMER
        and consent.purpose in MARKETING_PURPOSES
    )


def batch_checks(rows: list[Recipient], *, purpose: str) -> dict[int, tuple[Consent | None, str]]:
    """``check`` for a whole claimed batch in five queries: per row id (the consent that allows
    the mail, "") or (None, the reason to skip). The same rules as ``check`` and
    ``consent.contact_consent``; what can change during the batch is read again right before
    each send (``blocked_now``, and the consent inside ``send_marketing_mail``)."""
    addresses = {r.email for r in rows if r.email}
    domains = {a.rpartition("@")[2] for a in addresses}
    lowered = {a.lower() for a in addresses}
    party_ids = {r.party_id for r in rows}
    suppressed_values = set(
        Suppression.objects.filter(
            Q(value__in=addresses, is_domain=False) | Q(value__in=domains, is_domain=True)
        ).values_list("value", "is_domain")
    )
    bounced = set(
        AddressStatus.objects.filter(
            address__in=addresses, hard_bounced_at__isnull=False
        ).values_list("address", flat=True)
    )
    opted_out = set(
        ChannelPreference.objects.filter(
            party_id__in=party_ids, no_email_since__isnull=False
        ).values_list("party_id", flat=True)
    )
    purposes = {purpose} | (set(MARKETING_PURPOSES) if purpose in MARKETING_PURPOSES else set())
    by_party: dict[int, list[Consent]] = {}
    by_email: dict[str, list[Consent]] = {}
    for found in (
        Consent.objects.annotate(email_lower=Lower("email"))
        .filter(Q(party_id__in=party_ids) | Q(email_lower__in=lowered))
        .filter(channel=ConsentChannel.EMAIL, purpose__in=purposes)
    ):
        if found.party_id is not None:
            by_party.setdefault(found.party_id, []).append(found)
        if found.email:
            by_email.setdefault(found.email_lower, []).append(found)

    decided: dict[int, tuple[Consent | None, str]] = {}
    for row in rows:
        address = row.email
        if not address:
            decided[row.pk] = (None, SkipReason.NO_ADDRESS)
            continue
        domain = address.rpartition("@")[2]
        if (address, False) in suppressed_values or (domain, True) in suppressed_values:
            decided[row.pk] = (None, SkipReason.SUPPRESSED)
            continue
        if address in bounced:
            decided[row.pk] = (None, SkipReason.HARD_BOUNCE)
            continue
        if row.party_id in opted_out:
            decided[row.pk] = (None, SkipReason.OPTED_OUT)
            continue
        mine = {c.pk: c for c in by_party.get(row.party_id, []) + by_email.get(address.lower(), [])}
        decided[row.pk] = _consent_of(list(mine.values()), purpose=purpose)
    return decided


def _consent_of(mine: list[Consent], *, purpose: str) -> tuple[Consent | None, str]:
    """``contact_consent`` and ``_no_consent_reason`` over one subject's consents in memory."""
    valid = [
        c
        for c in mine
        if _purpose_match(c, purpose)
        and c.status == ConsentStatus.GRANTED
        and c.withdrawn_at is None
    ]
    # valid_consents' order: newest confirmation first (SQLite puts unconfirmed ones last).
    valid.sort(key=lambda c: (c.confirmed_at is not None, c.confirmed_at or 0, c.pk), reverse=True)
    for candidate in valid:
        since = candidate.confirmed_at or candidate.requested_at
        withdrawn_later = any(
            c.pk != candidate.pk
            and c.purpose == candidate.purpose
            and c.status == ConsentStatus.WITHDRAWN
            and c.withdrawn_at is not None
            and c.withdrawn_at > since
            for c in mine
        )
        if not withdrawn_later:
            return candidate, ""
    same = [c for c in mine if c.purpose == purpose]
    latest = max(same, key=lambda c: (c.requested_at, c.pk), default=None)
    if latest is not None and latest.status == ConsentStatus.WITHDRAWN:
        return None, SkipReason.CONSENT_WITHDRAWN
    if latest is not None and latest.status == ConsentStatus.PENDING:
        return None, SkipReason.CONSENT_PENDING
    return None, SkipReason.NO_CONSENT


def _blocked_sql() -> str:
    def name(model, field: str) -> str:
        return model._meta.get_field(field).column

    supp, status, pref = Suppression, AddressStatus, ChannelPreference
    # Table and column names from the models' metadata; the values go in as parameters.
    return (
        f"SELECT EXISTS(SELECT 1 FROM {supp._meta.db_table} WHERE"  # noqa: S608
        f" ({name(supp, 'value')} = %s AND NOT {name(supp, 'is_domain')})"
        f" OR ({name(supp, 'value')} = %s AND {name(supp, 'is_domain')})),"
        f" EXISTS(SELECT 1 FROM {status._meta.db_table} WHERE {name(status, 'address')} = %s"
        f" AND {name(status, 'hard_bounced_at')} IS NOT NULL),"
        f" EXISTS(SELECT 1 FROM {pref._meta.db_table} WHERE {name(pref, 'party')} = %s"
        f" AND {name(pref, 'no_email_since')} IS NOT NULL)"
    )


def blocked_now(recipient: Recipient) -> str:
    """Right before a send, in one query: whether the address was suppressed, hard-bounced or
    the party opted out of e-mail since the batch was read — the reason, or "". (The same
    conditions as ``suppressed``, ``hard_bounced`` and the opt-out in ``check``, as plain SQL:
    built by the ORM, this one query cost more than the SMTP hand-over.)"""
    address = recipient.email
    domain = address.rpartition("@")[2]
    with db_connection.cursor() as cursor:
        cursor.execute(_blocked_sql(), [address, domain, address, recipient.party_id])
        found = cursor.fetchone()
    for flag, reason in zip(
        found, (SkipReason.SUPPRESSED, SkipReason.HARD_BOUNCE, SkipReason.OPTED_OUT), strict=True
    ):
        if flag:
            return reason
    return ""


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
    """Before a send, at least every ``renew_interval()`` seconds (``commit_step``): extend
    the claim's lease and make sure it is still ours. A claim ``recover_stale`` took over
    (its rows reset together, in one transaction) renews nothing, and the worker sends none
    of its rows."""
    return bool(
        Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED).update(
            claimed_at=timezone.now()
        )
    )


def release(token: str) -> int:
    """Give a claim's unstarted rows back to the queue (pause, cancel, shutdown)."""
    return Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED).update(
        state=RecipientState.QUEUED, claim_token="", claimed_at=None, message_id=""
    )


def mark_started(token: str, ids: list[int], domain: str) -> int:
    """Mark rows whose send may begin before the next commit: they get their Message-ID
    (``message_id_for``) while still claimed. ``recover_stale`` takes such rows for
    ``uncertain``; ``release`` clears the mark of rows never started."""
    prefix = "<kreis-mailing-"
    return Recipient.objects.filter(
        pk__in=ids, claim_token=token, state=RecipientState.CLAIMED
    ).update(
        message_id=Concat(
            Value(prefix),
            Cast("mailing_id", CharField()),
            Value("-"),
            Cast("id", CharField()),
            Value(f"@{domain}>"),
            output_field=CharField(),
        )
    )


def recover_stale(mailing_id: int, *, lease: float | None = None) -> tuple[int, int]:
    """Claims older than the lease belong to a worker that stopped: its rows marked as started
    (``mark_started``) — or, when none is marked, its first unfinished row — are
    ``uncertain`` (they may have been handed to SMTP), the rest queued again.
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
            started = list(rows.exclude(message_id="").values_list("pk", flat=True))
            if not started:
                first = rows.order_by("pk").values_list("pk", flat=True).first()
                if first is None:
                    continue
                started = [first]
            uncertain += Recipient.objects.filter(
                pk__in=started, state=RecipientState.CLAIMED
            ).update(state=RecipientState.UNCERTAIN, claim_token="")
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
    recipient: Recipient,
    *,
    mailing: Mailing,
    connection,
    domain: str,
    cache: dict,
    checked: tuple[Consent | None, str] | None = None,
) -> Outcome:
    """Check and hand one recipient's mail to SMTP (through ``send_marketing_mail``, which
    adds the unsubscribe link and the List-Unsubscribe headers, and reads the consent again).
    ``checked``: what ``batch_checks`` found for the row; then only what can change since is
    read again (``blocked_now``), else all of ``check``. Writes nothing of its own:
    ``record`` does, right after."""
    if checked is None:
        allowed, reason = check(recipient, purpose=mailing.purpose)
    else:
        allowed, reason = checked
        if allowed is not None:
            reason = blocked_now(recipient)
            if reason:
                allowed = None
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
        # Withdrawn (or replaced) since the batch was read.
        return Outcome(
            RecipientState.SKIPPED,
            reason=_no_consent_reason(
                purpose=mailing.purpose, party=recipient.party, address=recipient.email
            ),
        )
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(RecipientState.FAILED, error=str(exc)[:300])
    return Outcome(
        RecipientState.SENT, consent=allowed, message_id=message_id, subject=content.subject
    )


def _activity(recipient: Recipient, mailing: Mailing, outcome: Outcome, now) -> Activity:
    """The mailing on the recipient's timeline: an outbound e-mail, once per recipient."""
    party = recipient.party
    return Activity(
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


def _record_rows(done: list[tuple[Recipient, Outcome]], *, token: str, mailing: Mailing) -> None:
    """Write outcomes inside the caller's transaction; the sent rows' timeline activities in
    one insert (``records_bulk_created`` stands in for their ``post_save``)."""
    now = timezone.now()
    activities = []
    for recipient, outcome in done:
        fields = {"state": outcome.state, "claim_token": ""}
        if outcome.state == RecipientState.SENT:
            fields |= {
                "sent_at": now,
                "message_id": outcome.message_id,
                "consent_id": outcome.consent.pk if outcome.consent else None,
            }
        elif outcome.state == RecipientState.SKIPPED:
            fields |= {"skip_reason": outcome.reason, "message_id": ""}
        else:
            fields |= {"error": outcome.error, "message_id": ""}
        changed = Recipient.objects.filter(
            pk=recipient.pk, claim_token=token, state=RecipientState.CLAIMED
        ).update(**fields)
        if changed and outcome.state == RecipientState.SENT:
            activities.append(_activity(recipient, mailing, outcome, now))
    if activities:
        created = Activity.objects.bulk_create(activities)
        announce_bulk_created(model=Activity, ids=[a.pk for a in created if a.pk])


def record(recipient: Recipient, *, token: str, mailing: Mailing, outcome: Outcome) -> None:
    """The outcome of one row, committed at once (see the module's docstring)."""
    with transaction.atomic():
        _record_rows([(recipient, outcome)], token=token, mailing=mailing)


def commit_step(
    done: list[tuple[Recipient, Outcome]],
    *,
    token: str,
    mailing: Mailing,
    start: list[int],
    domain: str,
) -> bool:
    """One commit between sends: the outcomes of the rows sent since the last one, the claim's
    lease renewed, and the next rows marked as started. False when the claim is no longer
    ours (taken over after its lease): then nothing more of it may be sent."""
    with transaction.atomic():
        _record_rows(done, token=token, mailing=mailing)
        if not renew(token):
            return False
        if start:
            mark_started(token, start, domain)
    return True


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


def _prepare_unsubscribe_links(checks: dict[int, tuple[Consent | None, str]]) -> None:
    """Store the unsubscribe-link hash of each consent of the batch in one commit, so that
    ``send_marketing_mail`` finds it stored and writes nothing per mail."""
    with transaction.atomic():
        for allowed, _reason in checks.values():
            if allowed is not None:
                consent.unsubscribe_token(allowed)


def _open(connection) -> None:
    try:
        connection.open()
    except (smtplib.SMTPException, OSError):
        connection.close()  # each send tries again and fails on its own


def run(
    mailing_id: int,
    *,
    share: int = 1,
    max_messages: int | None = None,
    wait_for_others: bool = True,
) -> RunResult:
    """Send a mailing's queued recipients until none is left, the mailing is paused or
    cancelled, or ``max_messages`` rows were done. ``share``: how many jobs send this mailing
    side by side (each paces itself to rate/share).

    Per batch: the checks read for all rows at once (``batch_checks``), one SMTP connection,
    and a commit (``commit_step``) every ``GROUP`` rows or ``renew_interval()`` seconds,
    whichever comes first. The mailing's state (pause, cancel) is read once a second."""
    result = RunResult()
    mailing = Mailing.objects.select_related("owner").filter(pk=mailing_id).first()
    if mailing is None:
        result.stopped = "missing"
        return result
    interval = share / rate_of(mailing)
    # A batch takes about a second, far below the claim's lease (renewed every
    # ``renew_interval()`` seconds while sending).
    batch = max(1, min(50, int(1 / interval)))
    domain = sender_domain()
    cache: dict = {}
    connection = get_connection(fail_silently=False)
    _open(connection)
    next_at = time.monotonic()
    state_read_at = -1.0
    done = 0
    try:
        while True:
            state = _state(mailing_id)
            state_read_at = time.monotonic()
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
            rows = list(
                Recipient.objects.filter(claim_token=token, state=RecipientState.CLAIMED)
                .select_related("party")
                .prefetch_related("party__contact_points")
                .order_by("pk")
            )
            checks = batch_checks(rows, purpose=mailing.purpose)
            _prepare_unsubscribe_links(checks)
            pending: list[tuple[Recipient, Outcome]] = []
            started_upto = 0  # rows[:started_upto] are marked as started
            renewed_at = time.monotonic()
            lost = False
            for index, recipient in enumerate(rows):
                if max_messages is not None and done >= max_messages:
                    break
                now = time.monotonic()
                if now - state_read_at >= 1.0:
                    state_read_at = now
                    if _state(mailing_id) != MailingState.SENDING:
                        break
                if (
                    index >= started_upto
                    or len(pending) >= GROUP
                    or now - renewed_at >= renew_interval()
                ):
                    start = []
                    if index >= started_upto:
                        start = [r.pk for r in rows[index : index + GROUP]]
                        started_upto = index + len(start)
                    if not commit_step(
                        pending, token=token, mailing=mailing, start=start, domain=domain
                    ):
                        lost = True  # the claim was taken over (lease run out): send no more
                        break
                    pending = []
                    renewed_at = time.monotonic()
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at = max(next_at, time.monotonic() - 1) + interval
                outcome = deliver(
                    recipient,
                    mailing=mailing,
                    connection=connection,
                    domain=domain,
                    cache=cache,
                    checked=checks[recipient.pk],
                )
                if outcome.state == RecipientState.FAILED:
                    connection.close()  # a refused or broken connection: a fresh one
                    _open(connection)
                pending.append((recipient, outcome))
                done += 1
                if outcome.state == RecipientState.SENT:
                    result.sent += 1
                elif outcome.state == RecipientState.SKIPPED:
                    result.skipped += 1
                else:
                    result.failed += 1
            if pending and not lost:
                with transaction.atomic():
                    _record_rows(pending, token=token, mailing=mailing)
            release(token)
            if max_messages is not None and done >= max_messages:
                result.stopped = "limit"
                break
    finally:
        connection.close()
    return result
