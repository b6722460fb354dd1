"""From a channel app's record to an inbox item: what it says, who sees it, who gets it, when
its first response is due. Used by the signal receivers (``receivers.py``) and by
``kreis inbox backfill``; both call ``item_for_*`` and store with ``item_store``, which keeps
one item per source record (a second call updates the links, never the work state).

Default assignment (issue 15: "from the linked record's owner or the receiving account's
team"): the owner and team of the case, lead or deal the message belongs to; else of the
party; else the receiving mailbox's team (a shared mailbox) or owner, the mention's source
owner and team, the survey's owner and team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from kreis.inbox.models import InboxChannel, InboxItem
from kreis.inbox.sla import first_response_due

EXCERPT = 500


@dataclass
class Draft:
    channel: str
    source_type: str
    source_id: int
    received_at: dt.datetime
    subject: str = ""
    excerpt: str = ""
    sender: str = ""
    thread_key: str = ""
    party: Any = None
    case: Any = None
    lead: Any = None
    deal: Any = None
    owner_id: int | None = None
    team_id: int | None = None
    # The fallback assignment when no linked record has an owner.
    fallback: tuple[int | None, int | None] = (None, None)
    links: dict = field(default_factory=dict)


def _cut(text: str, size: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def _open_deal(party):
    """The party's most recently changed open deal (as organisation or contact), if any."""
    if party is None:
        return None
    from django.db.models import Q

    from kreis.sales.models import Deal, StageKind

    return (
        Deal.objects.filter(Q(organization_id=party.pk) | Q(contact_id=party.pk))
        .filter(stage__kind=StageKind.OPEN)
        .order_by("-updated_at", "-pk")
        .first()
    )


def _default_assignment(draft: Draft) -> tuple[int | None, int | None]:
    for record in (draft.case, draft.lead, draft.deal, draft.party):
        if record is not None and (record.owner_id or record.team_id):
            return record.owner_id, record.team_id
    return draft.fallback


# --- one builder per channel ------------------------------------------------------------------


def item_for_message(message) -> Draft | None:
    """A shared inbound e-mail (never a private one, a delivery report or our own mail)."""
    from kreis.comms.models import Direction

    if message.direction != Direction.INBOUND or not message.is_shared or message.is_bounce:
        return None
    account = message.account
    party = message.parties.order_by("pk").first()
    sender = message.from_address
    if party is not None:
        by_address = message.parties.filter(contact_points__value__iexact=sender).first()
        party = by_address or party
    deal = _open_deal(party)
    return Draft(
        channel=InboxChannel.EMAIL,
        source_type="comms.message",
        source_id=message.pk,
        received_at=message.sent_at,
        subject=message.subject[:255],
        excerpt=_cut(message.text),
        sender=(f"{message.from_name} <{sender}>" if message.from_name else sender)[:255],
        thread_key=f"mail:{message.thread_id}",
        party=party,
        deal=deal,
        owner_id=account.owner_id,
        team_id=message.team_id,
        fallback=(account.owner_id, account.team_id),
    )


def item_for_submission(submission) -> Draft | None:
    """A processed web-form submission: the lead it made or updated, or the known contact."""
    if submission.lead_id is None and submission.party_id is None:
        return None
    lead, party = submission.lead, submission.party
    if party is None and lead is not None:
        party = lead.converted_person or lead.converted_organization
    record = lead or party
    data = submission.data or {}
    name = " ".join(str(data.get(k, "")) for k in ("first_name", "last_name")).strip()
    email = str(data.get("email", ""))
    texts = [
        str(value)
        for key, value in data.items()
        if key not in {"first_name", "last_name", "email", "phone", "company"} and value
    ]
    return Draft(
        channel=InboxChannel.WEBFORM,
        source_type="marketing.formsubmission",
        source_id=submission.pk,
        received_at=submission.created_at,
        subject=submission.form.name[:255],
        excerpt=_cut(" · ".join(texts)),
        sender=(f"{name} <{email}>" if name and email else name or email)[:255],
        thread_key=f"form:{submission.pk}",
        party=party,
        lead=lead,
        deal=_open_deal(party),
        owner_id=record.owner_id,
        team_id=record.team_id,
        fallback=(submission.form.owner_id, None),
    )


def item_for_mention(mention) -> Draft:
    handle = mention.author_handle or mention.author_name
    return Draft(
        channel=InboxChannel.SOCIAL,
        source_type="social.mention",
        source_id=mention.pk,
        received_at=mention.published_at,
        subject=_cut(mention.text, 120),
        excerpt=_cut(mention.text),
        sender=handle[:255],
        thread_key=f"mention:{mention.pk}",
        party=mention.party,
        case=mention.case,
        lead=mention.lead,
        owner_id=mention.owner_id,
        team_id=mention.team_id,
        fallback=(mention.owner_id, mention.team_id),
    )


def item_for_answer(answer) -> Draft | None:
    """A free-text survey answer with something in it (an anonymous one has no party)."""
    from kreis.feedback.models import QuestionKind

    if answer.question.kind != QuestionKind.TEXT or not answer.text.strip():
        return None
    response = answer.response
    survey = response.survey
    party = response.party
    record = party or survey
    return Draft(
        channel=InboxChannel.SURVEY,
        source_type="feedback.answer",
        source_id=answer.pk,
        received_at=response.created_at,
        subject=str(survey)[:255],
        excerpt=_cut(answer.text),
        sender=str(party) if party else "",
        thread_key=f"response:{response.pk}",
        party=party,
        deal=_open_deal(party),
        owner_id=record.owner_id,
        team_id=record.team_id,
        fallback=(survey.owner_id, survey.team_id),
    )


def item_for_case_message(message) -> Draft | None:
    """What a complaining customer wrote (by the complaint mailbox, or entered for them)."""
    from kreis.service.models import MessageKind

    if message.kind != MessageKind.CUSTOMER_MESSAGE:
        return None
    case = message.case
    return Draft(
        channel=InboxChannel.COMPLAINT,
        source_type="service.casemessage",
        source_id=message.pk,
        received_at=message.created_at,
        subject=f"{case.number} {case.subject}"[:255],
        excerpt=_cut(message.body),
        sender=str(case.party)[:255],
        thread_key=f"case:{case.pk}",
        party=case.party,
        case=case,
        owner_id=case.owner_id,
        team_id=case.team_id,
        fallback=(case.owner_id, case.team_id),
    )


def item_for_form_case(case) -> Draft | None:
    """A complaint from the public form: its description is the customer's message."""
    from kreis.service.models import Channel

    if case.channel != Channel.FORM:
        return None
    return Draft(
        channel=InboxChannel.COMPLAINT,
        source_type="service.case",
        source_id=case.pk,
        received_at=case.created_at,
        subject=f"{case.number} {case.subject}"[:255],
        excerpt=_cut(case.description),
        sender=str(case.party)[:255],
        thread_key=f"case:{case.pk}",
        party=case.party,
        case=case,
        owner_id=case.owner_id,
        team_id=case.team_id,
        fallback=(case.owner_id, case.team_id),
    )


# --- storing ----------------------------------------------------------------------------------


def item_store(draft: Draft | None) -> tuple[InboxItem | None, bool]:
    """Create the draft's item, or bring an existing one's links up to date: (item, created).
    The work state (status, assignee, first response) of an existing item is never touched."""
    if draft is None:
        return None, False
    links = {
        "party": draft.party,
        "case": draft.case,
        "lead": draft.lead,
        "deal": draft.deal,
        "owner_id": draft.owner_id,
        "team_id": draft.team_id,
        "subject": draft.subject,
        "excerpt": draft.excerpt,
        "sender": draft.sender,
    }
    existing = InboxItem.objects.filter(
        source_type=draft.source_type, source_id=draft.source_id
    ).first()
    if existing is not None:
        changed = [
            name
            for name, value in links.items()
            if value is not None and getattr(existing, name) != value
        ]
        for name in changed:
            setattr(existing, name, links[name])
        if changed and not existing.changes.exists():
            # Nobody has worked on it yet: the default assignment follows the new links.
            assignee_id, team_id = _default_assignment(draft)
            if (assignee_id, team_id) != (existing.assignee_id, existing.assigned_team_id):
                existing.assignee_id, existing.assigned_team_id = assignee_id, team_id
                changed += ["assignee", "assigned_team"]
        if changed:
            existing.save(update_fields=[*changed, "updated_at"])
        return existing, False
    assignee_id, assigned_team_id = _default_assignment(draft)
    item = InboxItem(
        channel=draft.channel,
        source_type=draft.source_type,
        source_id=draft.source_id,
        thread_key=draft.thread_key,
        received_at=draft.received_at,
        assignee_id=assignee_id,
        assigned_team_id=assigned_team_id,
        first_response_due_at=first_response_due(draft.channel, draft.received_at),
        **links,
    )
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:  # made at the same moment by another process
        return InboxItem.objects.get(
            source_type=draft.source_type, source_id=draft.source_id
        ), False
    return item, True


def item_remove(source_type: str, source_id: int) -> None:
    """The source no longer qualifies (a mail made private later): its item goes."""
    InboxItem.objects.filter(source_type=source_type, source_id=source_id).delete()
