"""Storing one mail: once per mailbox, in its thread, linked to parties, on the timeline.

- *Once.* A mail is recognised by its Message-ID (mail without one by
  ``<sha256-of-the-bytes@kreis.invalid>``): the same mail synced again — from a second folder,
  after a UIDVALIDITY change, or the copy of what Kreis sent itself — is not stored again.
- *Thread.* The mail joins the thread of the first message of the mailbox it names in
  In-Reply-To or References (our own sent Message-IDs included); without such a message, the
  newest thread with the same normalised subject ("Re:", "AW:", "Fwd:", "WG:" … removed) and
  the same participants; else a new thread.
- *Parties.* Every address of From, To and Cc that is a party's e-mail contact point links
  the party (the account's own address aside).
- *Timeline.* A shared mail (``kreis.comms.sharing``) becomes an Activity of kind e-mail
  (inbound or outbound) on the party it is with — the sender's for inbound mail, the first
  recipient's for outbound — linking to the message. Private mail and delivery reports never
  do; a delivery report counts its bounces (``kreis.comms.bounces``) instead.
"""

from __future__ import annotations

import re

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import Truncator, get_valid_filename
from django.utils.translation import gettext as _

from kreis.activities.models import Activity, ActivityKind
from kreis.activities.models import Direction as ActivityDirection
from kreis.comms import bounces, sharing
from kreis.comms.models import Attachment, Direction, MailAccount, Message, Thread
from kreis.core.mailfetch import FetchedMail
from kreis.core.search import index_record
from kreis.parties.models import ContactKind, ContactPoint, Party

_PREFIX = re.compile(r"^\s*((re|aw|fwd?|wg|sv|antw|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
SUBJECT_MAX = 998


def mail_key(mail: FetchedMail) -> str:
    return mail.message_id or f"<{mail.fingerprint}@kreis.invalid>"


def subject_key(subject: str) -> str:
    """The subject without reply and forward prefixes, lower case, spaces collapsed."""
    return re.sub(r"\s+", " ", _PREFIX.sub("", subject or "")).strip().lower()[:255]


def counterparts(account: MailAccount, addresses) -> list[str]:
    own = account.email_address.lower()
    found = []
    for address in addresses:
        address = (address or "").lower()
        if address and address != own and address not in found:
            found.append(address)
    return found


def parties_by_address(
    addresses: list[str], cache: dict[str, Party | None] | None = None
) -> dict[str, Party]:
    """The party of each address that is a party's e-mail contact point (not deleted).
    ``cache`` (address → party or None) spares a sync the lookup of addresses seen before."""
    if cache is not None:
        unknown = [a for a in addresses if a not in cache]
        if unknown:
            fetched = parties_by_address(unknown)
            cache.update({a: fetched.get(a) for a in unknown})
        return {a: party for a in addresses if (party := cache[a]) is not None}
    if not addresses:
        return {}
    found: dict[str, Party] = {}
    points = (
        ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, value__in=addresses, party__deleted_at__isnull=True
        )
        .select_related("party")
        .order_by("-is_primary", "pk")
    )
    for point in points:
        found.setdefault(point.value.lower(), point.party)
    return found


def _thread_for(
    account: MailAccount, *, references: list[str], subject: str, participants: list[str]
) -> Thread:
    if references:
        earlier = (
            Message.objects.filter(account=account, message_id__in=references)
            .order_by("-sent_at")
            .values_list("thread_id", flat=True)
            .first()
        )
        if earlier:
            return Thread.objects.get(pk=earlier)
    key = subject_key(subject)
    people = ",".join(sorted(participants))[:1000]
    if key:
        thread = (
            Thread.objects.filter(account=account, subject_key=key, participants_key=people)
            .order_by("-last_message_at")
            .first()
        )
        if thread is not None:
            return thread
    return Thread.objects.create(
        account=account, subject=subject[:255], subject_key=key, participants_key=people
    )


def safe_filename(name: str) -> str:
    """A file name for storage: no path, only safe characters, not empty, not too long."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    try:
        name = get_valid_filename(name)
    except Exception:  # noqa: BLE001 (nothing valid left, e.g. "..")
        name = ""
    name = name.lstrip(".")
    if not name:
        return _("attachment")
    stem, dot, ext = name.rpartition(".")
    if len(name) > 100:
        name = (stem[: 100 - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else name[:100]
    return name


def _snippet(message: Message) -> str:
    text = Truncator(re.sub(r"\s+", " ", message.text)).chars(300)
    link = f"/mail/messages/{message.pk}/"
    return f'<p>{escape(text)}</p><p><a href="{link}">{escape(_("Open the e-mail"))}</a></p>'


def _timeline(message: Message, party: Party) -> None:
    """The message's Activity on the party's timeline (bulk path: the activity's own checks
    are for people typing; here the row is written as the sync found it)."""
    account = message.account
    activity = Activity.objects.create(
        kind=ActivityKind.EMAIL,
        subject=Truncator(message.subject or _("(no subject)")).chars(200),
        body=_snippet(message),
        occurred_at=message.sent_at,
        done_at=message.sent_at,
        direction=(
            ActivityDirection.INBOUND
            if message.direction == Direction.INBOUND
            else ActivityDirection.OUTBOUND
        ),
        party=party,
        owner=account.owner,
        team=message.team or party.team,
        external_id=f"mail:{message.pk}",
    )
    Message.objects.filter(pk=message.pk).update(activity=activity)
    message.activity = activity


def store_mail(
    *,
    account: MailAccount,
    mail: FetchedMail,
    raw: bytes | None = None,
    folder: str = "",
    rules: list | None = None,
    direction: str | None = None,
    party_cache: dict | None = None,
) -> tuple[Message, bool]:
    """Store the mail (see the module's docstring): (message, created). Runs in one
    transaction; a mail stored before is returned as it is."""
    key = mail_key(mail)
    existing = Message.objects.filter(account=account, message_id=key).first()
    if existing is not None:
        if existing.uid is None and mail.uid:
            Message.objects.filter(pk=existing.pk).update(uid=mail.uid, folder=folder)
        return existing, False
    with transaction.atomic():
        return _create(account, mail, raw, folder, rules, direction, key, party_cache), True


def _create(account, mail, raw, folder, rules, direction, key, party_cache) -> Message:
    own = account.email_address.lower()
    if direction is None:
        outbound = mail.from_address == own or (
            folder and folder.lower() == account.sent_folder.strip().lower()
        )
        direction = Direction.OUTBOUND if outbound else Direction.INBOUND
    others = counterparts(account, [mail.from_address, *mail.to_addresses, *mail.cc_addresses])
    found = parties_by_address(others, party_cache)
    reports = bounces.parse_bounces(raw) if raw and mail.content_type == "multipart/report" else []
    is_bounce = bool(reports) or mail.content_type == "multipart/report"
    shared = not is_bounce and sharing.is_shared(
        account=account, addresses=others, known=bool(found), rules=rules
    )
    if direction == Direction.INBOUND:
        primary_address = mail.from_address
    else:
        primary_address = next((a for a in others if a in found), "")
    primary = found.get(primary_address) or next(iter(found.values()), None)
    team_id = account.team_id or (primary.team_id if shared and primary is not None else None)
    sent_at = mail.date or timezone.now()
    thread = _thread_for(
        account, references=list(mail.thread_ids), subject=mail.subject, participants=others
    )
    message = Message.objects.create(
        account=account,
        thread=thread,
        folder=folder[:255],
        uid=mail.uid or None,
        message_id=key[:255],
        direction=direction,
        from_address=mail.from_address[:254],
        from_name=mail.from_name[:255],
        to_addresses=list(mail.to_addresses),
        cc_addresses=list(mail.cc_addresses),
        subject=mail.subject[:SUBJECT_MAX],
        sent_at=sent_at,
        text=mail.text,
        html=mail.html,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references),
        is_shared=shared,
        is_bounce=is_bounce,
        team_id=team_id,
    )
    if found:
        message.parties.set({party.pk for party in found.values()})
    for item in mail.attachments:
        attachment = Attachment(
            message=message,
            filename=safe_filename(item.filename),
            content_type=item.content_type or "application/octet-stream",
            size=item.size,
            content_id=item.content_id,
        )
        if item.content is not None:
            attachment.file.save(attachment.filename, ContentFile(item.content), save=False)
        attachment.save()
    if thread.last_message_at is None or sent_at > thread.last_message_at:
        Thread.objects.filter(pk=thread.pk).update(last_message_at=sent_at)
    for report in reports:
        bounces.bounce_record(bounce=report)
    if shared and primary is not None:
        _timeline(message, primary)
    if shared:
        index_record(message)
    return message
