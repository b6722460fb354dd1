"""Reads of two-way e-mail, with the permission checks every view and API route uses.

Who sees a message:
- the owner of the personal account it came from, every message;
- the members of a shared mailbox's team, every message of that mailbox;
- anyone else only a *shared* message (``is_shared``), and only if they are in the team it
  is shared with (``Message.team``: the linked party's team) or an administrator.
A private message of someone else's mailbox is a 404, like a message that does not exist —
for administrators too.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from kreis.comms.models import (
    AddressStatus,
    Attachment,
    EmailTemplate,
    MailAccount,
    Message,
    Thread,
)
from kreis.comms.services import may_manage
from kreis.core.models import User


def accounts_for_user(*, user: User) -> QuerySet[MailAccount]:
    """The user's own accounts and the shared mailboxes of the user's teams."""
    return MailAccount.objects.filter(
        Q(owner_id=user.pk) | Q(team_id__in=user.team_ids())
    ).select_related("owner", "team")


def accounts_to_list(*, user: User) -> list[MailAccount]:
    """The accounts page: the user's own and team mailboxes; for administrators also every
    other team's shared mailbox (which they manage), never another user's personal one."""
    accounts = list(accounts_for_user(user=user).order_by("name"))
    if user.is_admin:
        others = MailAccount.objects.filter(team__isnull=False).exclude(
            pk__in=[a.pk for a in accounts]
        )
        accounts += list(others.select_related("team"))
    return accounts


def account_get_for_user(*, user: User, pk: int, manage: bool = False) -> MailAccount:
    account = accounts_for_user(user=user).filter(pk=pk).first()
    if account is None:
        # Administrators manage shared mailboxes of teams they are not in.
        account = MailAccount.objects.filter(pk=pk, team__isnull=False).first()
        if account is None or not (manage and user.is_admin):
            raise Http404
    if manage and not may_manage(user=user, account=account):
        raise Http404
    return account


def accounts_for_sending(*, user: User) -> QuerySet[MailAccount]:
    return accounts_for_user(user=user).filter(is_active=True).exclude(smtp_host="")


def _visible(user: User) -> Q:
    mine = Q(account__owner_id=user.pk) | Q(account__team_id__in=user.team_ids())
    if user.is_admin:
        return mine | Q(is_shared=True)
    return mine | Q(is_shared=True, team_id__in=user.team_ids())


def messages_for_user(*, user: User) -> QuerySet[Message]:
    if not user.is_authenticated or not user.is_active:
        return Message.objects.none()
    return Message.objects.filter(_visible(user))


def message_get_for_user(*, user: User, pk: int) -> Message:
    message = (
        messages_for_user(user=user)
        .select_related("account", "thread")
        .prefetch_related("attachments", "parties")
        .filter(pk=pk)
        .first()
    )
    if message is None:
        raise Http404
    return message


def thread_get_for_user(*, user: User, pk: int) -> tuple[Thread, list[Message]]:
    """The thread and its messages the user may see (none visible: 404)."""
    thread = Thread.objects.filter(pk=pk).first()
    if thread is None:
        raise Http404
    messages = list(
        messages_for_user(user=user)
        .filter(thread=thread)
        .prefetch_related("attachments", "parties")
        .order_by("sent_at", "pk")
    )
    if not messages:
        raise Http404
    return thread, messages


def attachment_get_for_user(*, user: User, pk: int) -> Attachment:
    attachment = Attachment.objects.filter(pk=pk).select_related("message").first()
    if (
        attachment is None
        or not messages_for_user(user=user).filter(pk=attachment.message_id).exists()
    ):
        raise Http404
    return attachment


def party_messages_for_user(*, user: User, party_id: int, limit: int = 20) -> list[Message]:
    return list(
        messages_for_user(user=user)
        .filter(parties__id=party_id, is_bounce=False)
        .select_related("account")
        .order_by("-sent_at")
        .distinct()[:limit]
    )


def invalid_addresses(addresses: list[str]) -> dict[str, AddressStatus]:
    return {
        status.address: status
        for status in AddressStatus.objects.filter(address__in=[a.lower() for a in addresses])
    }


def templates_active() -> QuerySet[EmailTemplate]:
    return EmailTemplate.objects.filter(is_active=True)


def template_get(*, pk: int) -> EmailTemplate:
    template = EmailTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise Http404
    return template


def template_for_language(*, name: str, language: str) -> EmailTemplate | None:
    """The active template of that name in the language, else in the other one."""
    candidates = {t.language: t for t in templates_active().filter(name=name)}
    return candidates.get(language) or next(iter(candidates.values()), None)


def recipient_language(party) -> str:
    """The language to write to the party in: the language of its channel preferences, else a
    custom field ``language`` when it holds de or en, else the language of the party's latest
    case, else the site's default."""
    from django.conf import settings

    from kreis.channels.services import preferred_language
    from kreis.service.models import Case

    preferred = preferred_language(party)
    if preferred in ("de", "en"):
        return preferred
    custom = (getattr(party, "custom", None) or {}).get("language")
    if isinstance(custom, str) and custom[:2].lower() in ("de", "en"):
        return custom[:2].lower()
    if party is not None:
        latest = (
            Case.objects.filter(party_id=party.pk)
            .order_by("-created_at")
            .values_list("language", flat=True)
            .first()
        )
        if latest in ("de", "en"):
            return latest
    return settings.LANGUAGE_CODE[:2]
