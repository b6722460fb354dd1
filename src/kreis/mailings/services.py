"""Writes of mailings: creating and changing a draft, starting (the recipient list is taken
from the segment then), pausing, resuming, cancelling, the test on a sample, and the
suppression list. Every service checks the actor's permission itself, so the web UI, the API
and the CLI behave alike."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.comms.queries import recipient_language, templates_active
from kreis.core.models import User
from kreis.mailings.models import (
    Mailing,
    MailingState,
    Recipient,
    RecipientState,
    SampleSend,
    Suppression,
    SuppressionSource,
)
from kreis.mailings.sending import content_for
from kreis.marketing.consent import services as consent
from kreis.marketing.segments.queries import segment_parties
from kreis.parties.models import ContactKind, ContactPoint

FIELDS = {"name", "segment", "campaign", "purpose", "template_name", "subject", "body", "rate"}
MAX_SAMPLE = 10
MAX_RATE = 1000


def _require(actor: User | None, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def _validate(mailing: Mailing) -> None:
    mailing.name = (mailing.name or "").strip()
    errors: dict[str, str] = {}
    if mailing.template_name:
        if not templates_active().filter(name=mailing.template_name).exists():
            errors["template_name"] = _("There is no active e-mail template of that name.")
    elif not mailing.subject.strip() or not mailing.body.strip():
        errors["subject"] = _("Choose an e-mail template, or enter a subject and a text.")
    if mailing.rate is not None and not 1 <= mailing.rate <= MAX_RATE:
        errors["rate"] = _("Between 1 and %d messages per second.") % MAX_RATE
    if errors:
        raise ValidationError(errors)
    mailing.full_clean()


def mailing_create(*, actor: User | None, **fields: Any) -> Mailing:
    """A new draft mailing (owned by the actor, in the segment's team)."""
    _require(actor, "mailings.add")
    unknown = set(fields) - FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    mailing = Mailing(**fields)
    mailing.owner = actor
    membership = actor.memberships.order_by("pk").first() if actor is not None else None
    mailing.team_id = membership.team_id if membership else None
    _validate(mailing)
    mailing.save()
    return mailing


def mailing_update(*, actor: User | None, mailing: Mailing, **fields: Any) -> Mailing:
    """Change a mailing; once it has started only its name and rate may change."""
    _require(actor, "mailings.change_record", mailing)
    unknown = set(fields) - FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    if mailing.state != MailingState.DRAFT and set(fields) - {"name", "rate"}:
        raise ValidationError(_("A mailing that has started keeps its segment and content."))
    for name, value in fields.items():
        setattr(mailing, name, value)
    _validate(mailing)
    mailing.save()
    return mailing


def mailing_delete(*, actor: User | None, mailing: Mailing) -> None:
    _require(actor, "mailings.change_record", mailing)
    if mailing.state != MailingState.DRAFT:
        raise ValidationError(_("Only a draft can be deleted; cancel a mailing instead."))
    mailing.delete()


def _primary_emails(party_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    points = (
        ContactPoint.objects.filter(party_id__in=party_ids, kind=ContactKind.EMAIL)
        .order_by("party_id", "-is_primary", "pk")
        .values_list("party_id", "value")
    )
    for party_id, value in points:
        found.setdefault(party_id, value.strip().lower())
    return found


def recipients_build(mailing: Mailing) -> int:
    """The recipient list from the segment's members now (each with the primary address and
    the language comms would write in). Consent and the other checks come before each send,
    not here."""
    parties = list(segment_parties(mailing.segment).only("pk", "custom").order_by("pk"))
    rows = []
    for start in range(0, len(parties), 1000):
        chunk = parties[start : start + 1000]
        emails = _primary_emails([p.pk for p in chunk])
        rows += [
            Recipient(
                mailing=mailing,
                party_id=p.pk,
                email=emails.get(p.pk, ""),
                language=recipient_language(p),
            )
            for p in chunk
        ]
    Recipient.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def _enqueue(mailing: Mailing) -> None:
    from kreis.mailings.tasks import enqueue_send

    transaction.on_commit(lambda: enqueue_send(mailing.pk))


def mailing_start(*, actor: User | None, mailing: Mailing, base_url: str | None = None) -> int:
    """Start sending a draft: the recipients are taken from the segment and the job queue
    sends them. Returns the number of recipients."""
    _require(actor, "mailings.change_record", mailing)
    try:
        link_base = consent.link_base(base_url)
    except consent.NoPublicAddress as exc:
        raise ValidationError(str(exc)) from exc
    with transaction.atomic():
        locked = Mailing.objects.select_for_update().get(pk=mailing.pk)
        if locked.state != MailingState.DRAFT:
            raise ValidationError(_("This mailing has been started already."))
        _validate(locked)
        count = recipients_build(locked)
        now = timezone.now()
        Mailing.objects.filter(pk=locked.pk).update(
            state=MailingState.SENDING, started_at=now, link_base=link_base, updated_at=now
        )
        _enqueue(locked)
    mailing.refresh_from_db()
    return count


def _move(actor, mailing: Mailing, *, allowed: tuple[str, ...], to: str) -> Mailing:
    _require(actor, "mailings.change_record", mailing)
    with transaction.atomic():
        changed = Mailing.objects.filter(pk=mailing.pk, state__in=allowed).update(
            state=to, updated_at=timezone.now()
        )
        if not changed:
            raise ValidationError(
                _("Not possible while the mailing is “%s”.") % mailing.get_state_display()
            )
        if to == MailingState.CANCELLED:
            Recipient.objects.filter(mailing=mailing, state=RecipientState.QUEUED).update(
                state=RecipientState.CANCELLED
            )
            Mailing.objects.filter(pk=mailing.pk).update(finished_at=timezone.now())
        if to == MailingState.SENDING:
            _enqueue(mailing)
    mailing.refresh_from_db()
    return mailing


def mailing_pause(*, actor: User | None, mailing: Mailing) -> Mailing:
    """Stop sending after the mail in hand; the rest stays queued."""
    return _move(actor, mailing, allowed=(MailingState.SENDING,), to=MailingState.PAUSED)


def mailing_resume(*, actor: User | None, mailing: Mailing) -> Mailing:
    return _move(actor, mailing, allowed=(MailingState.PAUSED,), to=MailingState.SENDING)


def mailing_cancel(*, actor: User | None, mailing: Mailing) -> Mailing:
    """Stop for good: the recipients not yet sent to are cancelled."""
    return _move(
        actor,
        mailing,
        allowed=(MailingState.SENDING, MailingState.PAUSED, MailingState.DRAFT),
        to=MailingState.CANCELLED,
    )


# --- the test on a sample ---------------------------------------------------------------------


@dataclass
class Sample:
    to: list[str]
    sample_of: list[str]
    sent: int


def _addresses(raw: str | list[str]) -> list[str]:
    items = raw if isinstance(raw, list) else raw.replace(";", ",").replace("\n", ",").split(",")
    found = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            validate_email(item)
        except ValidationError as exc:
            raise ValidationError({"to": _("“%s” is not an e-mail address.") % item}) from exc
        found.append(item.lower())
    if not found:
        raise ValidationError({"to": _("Enter at least one address.")})
    if len(found) > MAX_SAMPLE:
        raise ValidationError({"to": _("At most %d addresses.") % MAX_SAMPLE})
    return found


def sample_send(
    *, actor: User | None, mailing: Mailing, to: str | list[str], count: int = 1
) -> Sample:
    """Send the mail as ``count`` random members of the segment would get it (their merge
    fields, their language) to the tester's own addresses ``to`` — never to the members. The
    subject starts with “[Test]” and a header says it is a test."""
    _require(actor, "mailings.change_record", mailing)
    addresses = _addresses(to)
    count = max(1, min(int(count or 1), MAX_SAMPLE))
    _validate(mailing)
    pool = list(segment_parties(mailing.segment).values_list("pk", flat=True)[:2000])
    chosen_ids = random.sample(pool, min(count, len(pool))) if pool else []  # noqa: S311
    parties = list(
        segment_parties(mailing.segment)
        .filter(pk__in=chosen_ids)
        .prefetch_related("contact_points")
    ) or [None]
    messages = []
    for party in parties:
        content = content_for(
            mailing, party=party, language=recipient_language(party) if party else "de"
        )
        body = _("This is a test of the mailing “%(name)s”, as %(who)s would get it.") % {
            "name": mailing.name,
            "who": party.name if party else _("a recipient"),
        }
        messages.append(
            EmailMultiAlternatives(
                _("[Test] %s") % content.subject,
                body + "\n\n" + content.body,
                consent._sender(),
                addresses,
                headers={"X-Kreis-Mailing-Test": str(mailing.pk)},
            )
        )
    from django.core.mail import get_connection

    with get_connection(fail_silently=False) as connection:
        sent = connection.send_messages(messages) or 0
    names = [p.name for p in parties if p is not None]
    SampleSend.objects.create(mailing=mailing, to=addresses, sample_of=names, sent_by=actor)
    return Sample(to=addresses, sample_of=names, sent=sent)


# --- suppression list -------------------------------------------------------------------------


def _clean_value(raw: str) -> tuple[str, bool]:
    value = (raw or "").strip().lower().lstrip("@")
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError as exc:
            raise ValidationError({"value": _("“%s” is not an e-mail address.") % raw}) from exc
        return value, False
    if "." not in value or " " in value or len(value) > 254:
        raise ValidationError({"value": _("Enter an e-mail address or a domain.")})
    return value, True


def suppression_add(
    *, actor: User | None, value: str, reason: str = "", source: str = SuppressionSource.UI
) -> Suppression:
    """Put an address or a whole domain on the suppression list (again: the reason is
    updated)."""
    _require(actor, "mailings.manage_suppressions")
    value, is_domain = _clean_value(value)
    entry, _created = Suppression.objects.update_or_create(
        value=value,
        defaults={
            "is_domain": is_domain,
            "reason": (reason or "").strip()[:300],
            "source": source,
            "added_by": actor,
        },
    )
    return entry


def suppression_remove(*, actor: User | None, entry: Suppression) -> None:
    _require(actor, "mailings.manage_suppressions")
    entry.delete()


def suppression_import(
    *, actor: User | None, text: str, reason: str = "", source: str = SuppressionSource.IMPORT
) -> int:
    """Import a list: one address or domain a line, or CSV with the value in the first column
    and an optional reason in the second. All or nothing: one bad line changes nothing."""
    _require(actor, "mailings.manage_suppressions")
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].strip().lower() in ("address", "value"):
            continue
        try:
            value, is_domain = _clean_value(row[0])
        except ValidationError as exc:
            raise ValidationError(
                _("Line %(line)d: %(error)s") % {"line": number, "error": exc.messages[0]}
            ) from exc
        rows.append((value, is_domain, (row[1] if len(row) > 1 else reason).strip()[:300]))
    with transaction.atomic():
        for value, is_domain, why in rows:
            Suppression.objects.update_or_create(
                value=value,
                defaults={
                    "is_domain": is_domain,
                    "reason": why,
                    "source": source,
                    "added_by": actor,
                },
            )
    return len(rows)
