"""How a shared e-mail appears in the global search. Private mail is never indexed: the
search index is read with owner/team permissions in which administrators see everything, and
private mail is for its owner alone (its own list at /mail/ finds it)."""

from __future__ import annotations

from django.urls import reverse

from kreis.comms.models import Message
from kreis.core.search import SearchDocument


def message_document(message: Message) -> SearchDocument | None:
    if not message.is_shared or message.is_bounce:
        return None
    sender = message.from_name or message.from_address
    return SearchDocument(
        title=message.subject or message.from_address,
        subtitle=f"{sender} · {message.sent_at:%Y-%m-%d}",
        url=reverse("comms:message", args=[message.pk]),
        icon="envelope",
        text=" ".join(
            [
                message.subject,
                message.from_name,
                message.from_address,
                *message.to_addresses,
                message.text[:2000],
            ]
        ),
        owner_id=message.account.owner_id,
        team_id=message.team_id,
    )


def all_shared_messages():
    return (
        Message.objects.filter(is_shared=True, is_bounce=False)
        .select_related("account")
        .order_by("pk")
        .iterator(chunk_size=2000)
    )
