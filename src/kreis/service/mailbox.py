"""The complaint mailbox (DOMAIN.md §5, *Stimulation*: complaining by e-mail): IMAP folders
that Kreis polls; each new mail becomes a case or adds to one.

For each mail, in its own transaction (a broken mail does not stop the others):

- *Taken before?* Its Message-ID (without one: ``<sha256 of the raw mail@kreis.invalid>``) is
  stored on the case message it became (``CaseMessage.email_message_id``); a mail whose
  Message-ID is there is skipped. So a second poll, a poll after the folder's UIDVALIDITY
  changed, or the same mail in two mailboxes never makes a second case or message.
- *Automatic?* Auto-replies, bounces and bulk mail (``FetchedMail.auto_submitted``) and mail
  from Kreis's own sender address or from the mailbox itself are skipped: answering them
  would start a mail loop.
- *A reply?* A subject naming the number of an existing case (``C-2026-000123``), or an
  In-Reply-To/References naming a mail already on a case, adds the text to that case as a
  message from the customer (``services.case_add_customer_message``: a case waiting for the
  customer runs on). A resolved or closed case is reopened (to *in progress*, the one move
  ``services.TRANSITIONS`` allows back) when the mail comes from an address of the case's
  customer or contact person; mail from anyone else is added with a line naming the sender
  and does not reopen the case — knowing a case number must not be enough to reopen it.
- *Otherwise* a new case (``services.case_create``): channel e-mail, the mailbox's category
  (else the first active one), the subject, the text as description and as the first
  message from the customer; the sender is the party with that address, or a new person
  (``services.party_for_sender``). The customer gets the acknowledgement as from any channel.

The mail is then marked processed (flagged \\Seen, or moved to ``processed_folder``). A mail
that fails stays unread in the folder, its reason in ``last_error``; it is not fetched again
(``last_uid`` moves past it) unless the database failed, in which case the poll stops there
and the next poll takes it up. Polls run every five minutes (``kreis.service.tasks``) and
with ``kreis cases poll-mailbox``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.core import crypto
from kreis.core.mailfetch import (
    FetchedMail,
    MailAccount,
    MailFetchError,
    MailParseError,
    MailSession,
    SelectedFolder,
    check_account,
    parse_mail,
)
from kreis.parties.models import ContactKind, ContactPoint
from kreis.parties.normalize import normalize_email
from kreis.service import services
from kreis.service.models import (
    Case,
    CaseCategory,
    CaseMessage,
    CaseStatus,
    Channel,
    ComplaintMailbox,
    MessageKind,
)

log = logging.getLogger("kreis.service.mailbox")

CASE_NUMBER = re.compile(r"\bC-(\d{4})-(\d{6})\b")
SUBJECT_MAX = Case._meta.get_field("subject").max_length
ERROR_MAX = 4000


@dataclass
class PollResult:
    created: int = 0
    added: int = 0
    skipped: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def __iadd__(self, other: PollResult) -> PollResult:
        self.created += other.created
        self.added += other.added
        self.skipped += other.skipped
        self.errors += other.errors
        self.problems += other.problems
        return self

    def summary(self) -> str:
        return _("%(created)d created, %(added)d added, %(skipped)d skipped, %(errors)d errors") % {
            "created": self.created,
            "added": self.added,
            "skipped": self.skipped,
            "errors": self.errors,
        }


# --- Configuration ----------------------------------------------------------------------------


def mailbox_set_password(*, mailbox: ComplaintMailbox, password: str) -> None:
    """Store the password encrypted (``kreis.core.crypto``); saved with the mailbox."""
    mailbox.password_encrypted = crypto.encrypt(password) if password else ""


def account_for(mailbox: ComplaintMailbox) -> MailAccount:
    """The connection settings with the decrypted password (``crypto.SecretUnreadable`` when
    the credentials key changed)."""
    return MailAccount(
        host=mailbox.host.strip(),
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=crypto.decrypt(mailbox.password_encrypted),
    )


def mailbox_test_connection(*, mailbox: ComplaintMailbox) -> SelectedFolder:
    """Log in and open the folder; raises ``MailFetchError``/``SecretUnreadable`` saying what
    is wrong."""
    return check_account(account_for(mailbox), mailbox.folder or "INBOX")


# --- Polling --------------------------------------------------------------------------------


def poll_active_mailboxes() -> PollResult:
    """Poll every active mailbox (one failing mailbox does not stop the others)."""
    total = PollResult()
    for mailbox in ComplaintMailbox.objects.filter(is_active=True).order_by("pk"):
        total += poll_mailbox(mailbox)
    return total


def poll_mailbox(mailbox: ComplaintMailbox) -> PollResult:
    """Take the mailbox's new mail (see the module's docstring); records ``last_polled_at``,
    ``last_error`` and how far it got (``uidvalidity``, ``last_uid``)."""
    result = PollResult()
    try:
        account = account_for(mailbox)
        with MailSession(account) as session:
            folder = session.select(mailbox.folder or "INBOX")
            new = folder.new_uids(uidvalidity=mailbox.uidvalidity, last_uid=mailbox.last_uid)
            if new.restarted:
                log.warning(
                    "mailbox %s: UIDVALIDITY changed (%s -> %s), reading the folder again",
                    mailbox.pk,
                    mailbox.uidvalidity,
                    new.uidvalidity,
                )
            if new.uidvalidity != mailbox.uidvalidity:
                mailbox.uidvalidity = new.uidvalidity
                mailbox.last_uid = 0
                ComplaintMailbox.objects.filter(pk=mailbox.pk).update(
                    uidvalidity=new.uidvalidity, last_uid=0
                )
            done: list[int] = []
            try:
                for uid, raw in session.fetch(new.uids):
                    outcome = _take(mailbox, uid, raw, result)
                    if outcome == "stop":
                        break
                    if outcome == "done":
                        done.append(uid)
                    if len(done) >= 50:
                        session.mark_processed(done, mailbox.processed_folder.strip())
                        done = []
            finally:
                if done:
                    session.mark_processed(done, mailbox.processed_folder.strip())
    except (MailFetchError, crypto.SecretUnreadable) as exc:
        result.errors += 1
        result.problems.append(str(exc))
        log.warning("mailbox %s: %s", mailbox.pk, exc)
    except Exception as exc:  # noqa: BLE001 (the other mailboxes are polled all the same)
        result.errors += 1
        result.problems.append(f"{type(exc).__name__}: {exc}")
        log.exception("mailbox %s: the poll failed", mailbox.pk)
    now = timezone.now()
    error = "\n".join(result.problems)[:ERROR_MAX]
    ComplaintMailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=error)
    mailbox.last_polled_at, mailbox.last_error = now, error
    return result


def _take(mailbox: ComplaintMailbox, uid: int, raw: bytes, result: PollResult) -> str:
    """Take one mail: "done" (mark it processed), "failed" (leave it unread) or "stop" (the
    database failed: leave it and everything after it for the next poll)."""
    try:
        mail = parse_mail(raw, uid=uid)
        with transaction.atomic():
            # The mailbox's row is the lock: two polls of one mailbox take a mail one after
            # the other, and the second sees the first's message (and skips the mail).
            list(ComplaintMailbox.objects.select_for_update().filter(pk=mailbox.pk).only("pk"))
            outcome = take_mail(mailbox=mailbox, mail=mail)
            ComplaintMailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)
        mailbox.last_uid = uid
    except (OperationalError, InterfaceError) as exc:
        # The database is away or locked: not the mail's fault, so it is taken up next time.
        result.errors += 1
        result.problems.append(
            _("Mail %(uid)s: the database failed (%(error)s).") % {"uid": uid, "error": exc}
        )
        log.exception("mailbox %s: mail %s: database error", mailbox.pk, uid)
        return "stop"
    except (MailParseError, ValidationError, PermissionDenied) as exc:
        reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return _failed(mailbox, uid, reason, result)
    except Exception as exc:  # noqa: BLE001 (one broken mail must not stop the others)
        log.exception("mailbox %s: mail %s failed", mailbox.pk, uid)
        return _failed(mailbox, uid, f"{type(exc).__name__}: {exc}", result)
    if outcome == "created":
        result.created += 1
    elif outcome == "added":
        result.added += 1
    else:
        result.skipped += 1
    return "done"


def _failed(mailbox: ComplaintMailbox, uid: int, reason: str, result: PollResult) -> str:
    """Move past a mail that cannot be taken: it stays unread in the folder, the reason goes
    into ``last_error``."""
    ComplaintMailbox.objects.filter(pk=mailbox.pk, last_uid__lt=uid).update(last_uid=uid)
    mailbox.last_uid = max(mailbox.last_uid, uid)
    result.errors += 1
    result.problems.append(
        _("Mail %(uid)s was not taken: %(reason)s") % {"uid": uid, "reason": reason}
    )
    log.warning("mailbox %s: mail %s not taken: %s", mailbox.pk, uid, reason)
    return "failed"


# --- One mail ---------------------------------------------------------------------------------


def mail_key(mail: FetchedMail) -> str:
    """What identifies the mail: its Message-ID, else the hash of its bytes."""
    return mail.message_id or f"<{mail.fingerprint}@kreis.invalid>"


def _own_addresses(mailbox: ComplaintMailbox) -> set[str]:
    own = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1], parseaddr(settings.SERVER_EMAIL)[1]}
    if "@" in mailbox.username:
        own.add(mailbox.username.strip().lower())
    return {address.lower() for address in own if address}


def take_mail(*, mailbox: ComplaintMailbox, mail: FetchedMail) -> str:
    """Make the mail a case or a message on one: "created", "added" or "skipped". Runs inside
    the caller's transaction."""
    key = mail_key(mail)
    if CaseMessage.objects.filter(email_message_id=key).exists():
        return "skipped"
    if mail.auto_submitted or mail.from_address in _own_addresses(mailbox):
        return "skipped"
    if not mail.from_address:
        raise ValidationError(_("The mail has no sender address."))
    case = _case_answered(mail)
    text = mail.text.strip() or _("(The e-mail has no text.)")
    if case is not None:
        _add_to_case(case, mail, text, key)
        return "added"
    _create_case(mailbox, mail, text, key)
    return "created"


def _case_answered(mail: FetchedMail) -> Case | None:
    numbers = [f"C-{year}-{seq}" for year, seq in CASE_NUMBER.findall(mail.subject)]
    for number in numbers:
        case = Case.objects.filter(number=number).first()
        if case is not None:
            return case
    if mail.thread_ids:
        message = (
            CaseMessage.objects.filter(email_message_id__in=mail.thread_ids)
            .select_related("case")
            .order_by("-pk")
            .first()
        )
        if message is not None:
            return message.case
    return None


def _customer_addresses(case: Case) -> set[str]:
    parties = [pk for pk in (case.party_id, case.contact_id) if pk]
    return {
        value.lower()
        for value in ContactPoint.objects.filter(
            party_id__in=parties, kind=ContactKind.EMAIL
        ).values_list("value", flat=True)
    }


def _add_to_case(case: Case, mail: FetchedMail, text: str, key: str) -> None:
    try:
        sender_address = normalize_email(mail.from_address)
    except ValidationError:
        sender_address = mail.from_address
    known = sender_address in _customer_addresses(case)
    if not known:
        with translation.override(case.language):
            sender = (
                f"{mail.from_name} <{mail.from_address}>" if mail.from_name else mail.from_address
            )
            text = (
                _("Sent by %(sender)s (not an address of this customer):") % {"sender": sender}
                + f"\n\n{text}"
            )
    if known and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        if CaseStatus.IN_PROGRESS in services.TRANSITIONS.get(case.status, ()):
            with translation.override(settings.LANGUAGE_CODE):
                note = _("The customer wrote again by e-mail.")
            case = services.case_transition(
                actor=None, case=case, to_status=CaseStatus.IN_PROGRESS, note=note
            )
    message = services.case_add_customer_message(actor=None, case=case, body=text)
    CaseMessage.objects.filter(pk=message.pk).update(email_message_id=key)


def _category(mailbox: ComplaintMailbox) -> CaseCategory:
    if mailbox.category_id and mailbox.category and mailbox.category.is_active:
        return mailbox.category
    category = CaseCategory.objects.filter(is_active=True).order_by("pk").first()
    if category is None:
        raise ValidationError(_("There is no active case category."))
    return category


def _language(mail: FetchedMail, party_id: int | None) -> str:
    languages = dict(settings.LANGUAGES)
    spoken = mail.content_language.split("-")[0]
    if spoken in languages:
        return spoken
    if party_id is not None:
        earlier = (
            Case.objects.filter(party_id=party_id)
            .order_by("-created_at")
            .values_list("language", flat=True)
            .first()
        )
        if earlier:
            return earlier
    return settings.LANGUAGE_CODE


def _create_case(mailbox: ComplaintMailbox, mail: FetchedMail, text: str, key: str) -> None:
    name = mail.from_name or mail.from_address.partition("@")[0]
    party = services.party_for_sender(actor=None, name=name, email=mail.from_address)
    subject = mail.subject.strip() or _("E-mail without subject")
    case = services.case_create(
        actor=None,
        channel=Channel.EMAIL,
        category=_category(mailbox),
        subject=subject[:SUBJECT_MAX],
        party=party,
        description=text,
        language=_language(mail, party.pk),
    )
    message = CaseMessage.objects.create(
        case=case, kind=MessageKind.CUSTOMER_MESSAGE, body=text, email_message_id=key
    )
    # The mail came first, the acknowledgement (written by case_create) after it: the
    # timeline, ordered by time, shows them so.
    CaseMessage.objects.filter(pk=message.pk).update(created_at=case.created_at)
