"""Writes of two-way e-mail: accounts (with their encrypted passwords), sharing rules,
templates, and a message's "show images". Sending lives in ``sending``, storing synced mail
in ``store``. Every write checks that the actor may make it: a personal account is its
owner's alone; a shared mailbox is changed by its team's managers and administrators.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.utils.translation import gettext as _

from kreis.comms.merge import validate_template
from kreis.comms.models import (
    EmailTemplate,
    MailAccount,
    Message,
    RuleAction,
    SharingRule,
)
from kreis.core import crypto
from kreis.core.mailfetch import (
    MailAccount as ImapSettings,
)
from kreis.core.mailfetch import (
    MailFetchError,
    SelectedFolder,
    check_account,
    is_loopback,
)
from kreis.core.models import Team, User
from kreis.core.netguard import TargetRefused, refuse_metadata

ACCOUNT_FIELDS = {
    "name",
    "email_address",
    "display_name",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "folders",
    "sent_folder",
    "share_mode",
    "is_active",
}
SMTP_TIMEOUT = 30


def may_manage(*, user: User, account: MailAccount) -> bool:
    """The owner of a personal account; a shared mailbox's team managers and administrators."""
    if account.owner_id is not None:
        return account.owner_id == user.pk
    return user.is_admin or account.team_id in user.managed_team_ids()


def _check_may_manage(user: User, account: MailAccount) -> None:
    if user.is_read_only or not may_manage(user=user, account=account):
        raise PermissionDenied


def imap_account(account: MailAccount) -> ImapSettings:
    """The IMAP settings with the decrypted password (``crypto.SecretUnreadable`` when the
    credentials key changed)."""
    return ImapSettings(
        host=account.imap_host.strip(),
        port=account.imap_port,
        security=account.imap_security,
        username=account.imap_username,
        password=crypto.decrypt(account.imap_password_encrypted),
    )


def smtp_connection(account: MailAccount):
    """A Django SMTP connection through the account's own server (not Kreis's)."""
    host = account.smtp_host.strip()
    if not host:
        raise ValidationError(_("The account has no SMTP server: it cannot send."))
    if account.smtp_security == "none" and not is_loopback(host):
        raise ValidationError(
            _("An unencrypted connection is only allowed to this machine (localhost).")
        )
    try:
        refuse_metadata(host)
    except TargetRefused as exc:
        raise ValidationError(str(exc)) from exc
    password = account.smtp_password_encrypted or account.imap_password_encrypted
    return get_connection(
        "kreis.comms.smtp.AccountSMTPBackend",
        host=host,
        port=account.smtp_port,
        username=account.smtp_username or account.imap_username,
        password=crypto.decrypt(password) if password else "",
        use_tls=account.smtp_security == "starttls",
        use_ssl=account.smtp_security == "ssl",
        timeout=SMTP_TIMEOUT,
        fail_silently=False,
    )


def _apply(account: MailAccount, fields: dict[str, Any]) -> None:
    unknown = set(fields) - ACCOUNT_FIELDS - {"imap_password", "smtp_password"}
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        if name in ACCOUNT_FIELDS and value is not None:
            setattr(account, name, value.strip() if isinstance(value, str) else value)
    # An empty password keeps the stored one ("stored; leave empty to keep").
    if fields.get("imap_password"):
        account.imap_password_encrypted = crypto.encrypt(fields["imap_password"])
    if fields.get("smtp_password"):
        account.smtp_password_encrypted = crypto.encrypt(fields["smtp_password"])
    account.email_address = account.email_address.strip().lower()


@transaction.atomic
def account_create(*, actor: User, team: Team | None = None, **fields: Any) -> MailAccount:
    """A personal account of the actor, or with ``team`` a shared mailbox of that team (its
    managers and administrators only)."""
    if actor.is_read_only:
        raise PermissionDenied
    if team is not None and not (actor.is_admin or team.pk in actor.managed_team_ids()):
        raise PermissionDenied
    account = MailAccount(owner=None if team else actor, team=team)
    _apply(account, fields)
    if not fields.get("imap_password"):
        raise ValidationError({"imap_password": _("Enter the mailbox's password.")})
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def account_update(*, actor: User, account: MailAccount, **fields: Any) -> MailAccount:
    _check_may_manage(actor, account)
    moved = {"imap_host", "imap_port", "imap_username"} & {
        k for k, v in fields.items() if v is not None and v != getattr(account, k, v)
    }
    _apply(account, fields)
    account.full_clean()
    account.save()
    if moved:  # another mailbox: the remembered UIDs mean nothing there
        account.states.all().delete()
    return account


@transaction.atomic
def account_delete(*, actor: User, account: MailAccount) -> None:
    """Remove the account and its synced mail (the timeline entries of shared mail stay, as
    the record of what was exchanged)."""
    _check_may_manage(actor, account)
    account.delete()


def account_test_connection(*, actor: User, account: MailAccount) -> tuple[SelectedFolder, str]:
    """Log in to IMAP and open the first folder, then log in to SMTP: the folder and a line
    about SMTP; ``ValidationError`` with a clear message when anything fails."""
    _check_may_manage(actor, account)
    try:
        folder = check_account(imap_account(account), account.folder_list()[0])
    except (MailFetchError, crypto.SecretUnreadable) as exc:
        raise ValidationError(_("IMAP: %s") % exc) from exc
    if not account.smtp_host.strip():
        return folder, _("No SMTP server: this account cannot send.")
    connection = smtp_connection(account)
    try:
        connection.open()
        connection.close()
    except (smtplib.SMTPException, OSError) as exc:
        raise ValidationError(_("SMTP: %s") % smtp_error(exc)) from exc
    return folder, _("SMTP login works.")


def smtp_error(exc: BaseException) -> str:
    """An SMTP failure as a person can read it (code and the server's words)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {_text(answer)}"
            for address, (code, answer) in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _("The server refused the user name or password.") + f" ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@transaction.atomic
def rule_add(*, actor: User, account: MailAccount, pattern: str, action: str) -> SharingRule:
    _check_may_manage(actor, account)
    pattern = pattern.strip().lower()
    if action not in RuleAction.values:
        raise ValidationError({"action": _("Unknown action.")})
    if not pattern or " " in pattern or pattern.count("@") > 1 or pattern.endswith("@"):
        raise ValidationError(
            {"pattern": _("Enter an address (anna@example.com) or a domain (@example.com).")}
        )
    if "@" not in pattern:
        pattern = "@" + pattern
    rule, _created = SharingRule.objects.update_or_create(
        account=account, pattern=pattern, defaults={"action": action}
    )
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: SharingRule) -> None:
    _check_may_manage(actor, rule.account)
    rule.delete()


def message_show_images(*, actor: User, message: Message, show: bool = True) -> Message:
    """Allow (or block again) the remote images of one message: the reader's decision for
    that message only. ``message`` comes from ``queries.message_get_for_user``."""
    Message.objects.filter(pk=message.pk).update(show_images=show)
    message.show_images = show
    return message


def _may_edit_templates(user: User) -> None:
    if user.is_read_only or not (user.is_admin or user.managed_team_ids()):
        raise PermissionDenied


@transaction.atomic
def template_save(
    *,
    actor: User,
    template: EmailTemplate | None = None,
    name: str,
    language: str,
    subject: str,
    body: str,
    is_active: bool = True,
) -> EmailTemplate:
    """Create or change a template (administrators and team managers); the merge fields are
    checked first (``merge.validate_template``)."""
    _may_edit_templates(actor)
    validate_template(subject=subject, body=body)
    template = template or EmailTemplate()
    template.name, template.language = name.strip(), language
    template.subject, template.body, template.is_active = subject, body, is_active
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def template_delete(*, actor: User, template: EmailTemplate) -> None:
    _may_edit_templates(actor)
    template.delete()
