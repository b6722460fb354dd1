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
REFERENCES_PER_QUERY = 500


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


class _Lookups:
    """What a batch of mail needs from the database, read once for the whole batch and kept
    up to date as its mail is stored: the mail stored before (by Message-ID), the thread of
    each Message-ID it refers to, the newest thread of each subject and participants, the
    parties of its addresses. Storing one mail after the other with these gives the same
    threads and links as reading the database for each mail."""

    def __init__(self, account: MailAccount, mails: list[FetchedMail], party_cache) -> None:
        self.account = account
        keys = {mail_key(mail) for mail in mails}
        self.stored = {
            message.message_id: message
            for message in Message.objects.filter(account=account, message_id__in=keys)
        }
        references = sorted({ref for mail in mails for ref in mail.thread_ids})
        # Message-ID → (sent_at, thread id) of the mailbox's message with that Message-ID.
        # In slices: long References headers times a batch may pass SQLite's variable limit.
        self.referred = {}
        for start in range(0, len(references), REFERENCES_PER_QUERY):
            self.referred.update(
                (message_id, (sent_at, thread_id))
                for message_id, sent_at, thread_id in Message.objects.filter(
                    account=account,
                    message_id__in=references[start : start + REFERENCES_PER_QUERY],
                ).values_list("message_id", "sent_at", "thread_id")
            )
        self.threads = Thread.objects.in_bulk(
            {thread_id for _at, thread_id in self.referred.values()}
        )
        self.others = {
            mail_key(mail): counterparts(
                account, [mail.from_address, *mail.to_addresses, *mail.cc_addresses]
            )
            for mail in mails
        }
        addresses = sorted({address for found in self.others.values() for address in found})
        self.parties = parties_by_address(addresses, party_cache)
        self.by_contact_order = party_cache is None
        subjects = {subject_key(mail.subject) for mail in mails} - {""}
        people = {_people(found) for found in self.others.values()}
        # (subject key, participants key) → the newest such thread.
        self.newest: dict[tuple[str, str], Thread] = {}
        if subjects:
            for thread in Thread.objects.filter(
                account=account, subject_key__in=subjects, participants_key__in=people
            ).order_by("-last_message_at", "-pk"):
                self.newest.setdefault((thread.subject_key, thread.participants_key), thread)
                self.threads.setdefault(thread.pk, thread)

    def parties_of(self, addresses: list[str]) -> dict[str, Party]:
        """``parties_by_address(addresses, cache)`` of one mail, in the same order."""
        if self.by_contact_order:  # no cache: in the order of the contact points
            return {a: party for a, party in self.parties.items() if a in addresses}
        return {a: self.parties[a] for a in addresses if a in self.parties}

    def thread_for(self, *, references, subject: str, participants: list[str]) -> Thread:
        """The thread of the newest message named in ``references``; else the newest thread
        with the same subject key and participants; else a new thread."""
        best = None
        for reference in references:
            found = self.referred.get(reference)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        if best is not None:
            return self.threads[best[1]]
        key, people = subject_key(subject), _people(participants)
        if key and (key, people) in self.newest:
            return self.newest[(key, people)]
        thread = Thread.objects.create(
            account=self.account,
            subject=subject[:255],
            subject_key=key,
            participants_key=people,
        )
        self.threads[thread.pk] = thread
        return thread

    def stored_now(self, message: Message, thread: Thread) -> None:
        """Take a message just stored into account for the mail after it."""
        self.stored[message.message_id] = message
        self.referred[message.message_id] = (message.sent_at, thread.pk)
        if thread.last_message_at is None or message.sent_at > thread.last_message_at:
            thread.last_message_at = message.sent_at
        pair = (thread.subject_key, thread.participants_key)
        newest = self.newest.get(pair)
        if thread.subject_key and (
            newest is None
            or newest.last_message_at is None
            or thread.last_message_at >= newest.last_message_at
        ):
            self.newest[pair] = thread


def _people(participants: list[str]) -> str:
    return ",".join(sorted(participants))[:1000]


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
    with transaction.atomic():
        return store_mails(
            account=account,
            mails=[(mail, raw)],
            folder=folder,
            rules=rules,
            direction=direction,
            party_cache=party_cache,
        )[0]


def store_mails(
    *,
    account: MailAccount,
    mails: list[tuple[FetchedMail, bytes | None]],
    folder: str = "",
    rules: list | None = None,
    direction: str | None = None,
    party_cache: dict | None = None,
) -> list[tuple[Message, bool]]:
    """Store each (mail, raw bytes) of a batch as ``store_mail`` would, one after the other,
    with the database read once for the batch (``_Lookups``): [(message, created)]. Runs in
    the caller's transaction: a failure leaves the batch half stored, for the caller to roll
    back."""
    lookups = _Lookups(account, [mail for mail, _raw in mails], party_cache)
    done = []
    for mail, raw in mails:
        key = mail_key(mail)
        existing = lookups.stored.get(key)
        if existing is not None:
            if existing.uid is None and mail.uid:
                Message.objects.filter(pk=existing.pk).update(uid=mail.uid, folder=folder)
                existing.uid, existing.folder = mail.uid, folder
            done.append((existing, False))
            continue
        message = _create(account, mail, raw, folder, rules, direction, key, lookups)
        done.append((message, True))
    return done


def _create(account, mail, raw, folder, rules, direction, key, lookups: _Lookups) -> Message:
    own = account.email_address.lower()
    if direction is None:
        outbound = mail.from_address == own or (
            folder and folder.lower() == account.sent_folder.strip().lower()
        )
        direction = Direction.OUTBOUND if outbound else Direction.INBOUND
    others = lookups.others[key]
    found = lookups.parties_of(others)
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
    thread = lookups.thread_for(
        references=mail.thread_ids, subject=mail.subject, participants=others
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
        message.parties.add(*{party.pk for party in found.values()})
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
    lookups.stored_now(message, thread)
    for report in reports:
        bounces.bounce_record(bounce=report)
    if shared and primary is not None:
        _timeline(message, primary)
    if shared:
        index_record(message)
    return message
