"""Sending from Kreis through the user's own mailbox.

``message_send`` builds the mail (a reply gets In-Reply-To and References from the message it
answers, RFC 5322 §3.6.4, and "Re:" once), sends it through the account's SMTP server with a
connection of its own (``services.smtp_connection`` — not Kreis's system sender), files a
copy in the account's Sent folder with IMAP APPEND (flagged \\Seen; the folder is created if
missing), and stores it as an outbound message in its thread and on the timeline. The
Message-ID is Kreis's own (``make_msgid`` on the sender's domain), so replies to it are
threaded and a later sync of the Sent folder recognises the copy.

A refused send raises ``SendError`` with the server's answer and stores nothing: the form
shows the message with everything typed still in it. When only the filing in Sent fails
(the mail did go out), the message is stored all the same and the problem is returned as a
warning.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.comms.models import Direction, MailAccount, Message
from kreis.comms.services import imap_account, smtp_connection, smtp_error
from kreis.comms.store import store_mail
from kreis.core import crypto
from kreis.core.mailfetch import MailFetchError, MailSession, parse_mail
from kreis.core.models import User
from kreis.parties.normalize import normalize_email

MAX_RECIPIENTS = 50


class SendError(Exception):
    """The SMTP server refused the mail (or could not be reached); nothing was stored."""


@dataclass
class Sent:
    message: Message
    warning: str = ""


def _addresses(text: str | list[str], field: str) -> list[str]:
    items = text if isinstance(text, list) else text.replace(";", ",").split(",")
    found = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            found.append(normalize_email(item))
        except ValidationError as exc:
            raise ValidationError({field: _("“%s” is not an e-mail address.") % item}) from exc
    return found


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith(("re:", "aw:")) else f"Re: {subject}"


def message_send(
    *,
    actor: User,
    account: MailAccount,
    to: str | list[str],
    cc: str | list[str] = "",
    subject: str,
    body: str,
    reply_to: Message | None = None,
) -> Sent:
    """Send a plain-text mail (see the module's docstring). ``account`` must be one the actor
    may send from (``queries.account_for_sending``); ``reply_to`` one the actor may see."""
    to_list = _addresses(to, "to")
    cc_list = _addresses(cc, "cc")
    if not to_list:
        raise ValidationError({"to": _("Enter at least one recipient.")})
    if len(to_list) + len(cc_list) > MAX_RECIPIENTS:
        raise ValidationError(
            {"to": _("At most %d recipients; use a mailing for more.") % MAX_RECIPIENTS}
        )
    if not subject.strip():
        raise ValidationError({"subject": _("Enter a subject.")})
    if actor.is_read_only:
        raise ValidationError(_("Read-only users cannot send e-mail."))
    headers = {}
    if reply_to is not None:
        references = [*reply_to.reference_ids(), reply_to.message_id]
        headers["In-Reply-To"] = reply_to.message_id
        headers["References"] = " ".join(dict.fromkeys(references))
    sender = account.email_address
    if account.display_name:
        from email.utils import formataddr

        sender = formataddr((account.display_name, account.email_address))
    from email.utils import make_msgid

    domain = account.email_address.rpartition("@")[2] or "kreis.invalid"
    headers["Message-ID"] = make_msgid(domain=domain)
    mail = EmailMessage(
        subject=subject.strip(),
        body=body,
        from_email=sender,
        to=to_list,
        cc=cc_list,
        headers=headers,
        connection=smtp_connection(account),
    )
    try:
        mail.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(_("The mail server refused the mail: %s") % smtp_error(exc)) from exc
    except crypto.SecretUnreadable as exc:
        raise SendError(str(exc)) from exc
    raw = mail.message().as_bytes(linesep="\r\n")
    warning = ""
    sent_folder = account.sent_folder.strip() or "Sent"
    try:
        with MailSession(imap_account(account)) as session:
            session.append(sent_folder, raw, flags=[b"\\Seen"], create=True)
    except (MailFetchError, crypto.SecretUnreadable) as exc:
        warning = _("The mail was sent, but not filed in “%(folder)s”: %(error)s") % {
            "folder": sent_folder,
            "error": exc,
        }
    parsed = parse_mail(raw, full=True)
    message, _created = store_mail(
        account=account,
        mail=parsed,
        raw=None,
        folder=sent_folder,
        direction=Direction.OUTBOUND,
    )
    if reply_to is not None and message.thread_id != reply_to.thread_id:
        Message.objects.filter(pk=message.pk).update(thread=reply_to.thread)
        message.thread = reply_to.thread
    if message.sent_at is None:
        message.sent_at = timezone.now()
    return Sent(message=message, warning=warning)
