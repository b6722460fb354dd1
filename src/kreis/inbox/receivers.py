"""The inbox listens to the channel apps (they know nothing of it): each new inbound message
becomes an item, each reply records the first response of the items it answers.

A receiver runs inside the source app's transaction, in a savepoint of its own: should the
inbox fail, the mail, mention or case is still stored (and logged; ``kreis inbox backfill``
adds what is missing).
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save
from django.utils import timezone

from kreis.inbox import intake
from kreis.inbox.models import InboxChannel, InboxItem
from kreis.inbox.services import first_response_record

log = logging.getLogger(__name__)


def _guarded(receiver):
    @functools.wraps(receiver)
    def run(*args, **kwargs):
        if kwargs.get("raw"):  # fixtures and restores: the backfill takes them
            return
        try:
            with transaction.atomic():
                receiver(*args, **kwargs)
        except Exception:
            log.exception("inbox: %s failed", receiver.__name__)

    return run


@_guarded
def on_mail_saved(sender, instance, created, **kwargs) -> None:
    from kreis.comms.models import Direction

    if instance.direction == Direction.OUTBOUND:
        if created:
            first_response_record(
                thread_key=f"mail:{instance.thread_id}",
                at=instance.sent_at,
                by_id=instance.account.owner_id,
            )
        return
    draft = intake.item_for_message(instance)
    if draft is None:
        intake.item_remove("comms.message", instance.pk)
    else:
        intake.item_store(draft)


@_guarded
def on_mail_parties(sender, instance, action, **kwargs) -> None:
    # The store links the parties after saving the message: the item gets its party then.
    if action in ("post_add", "post_remove", "post_clear") and hasattr(instance, "thread_id"):
        intake.item_store(intake.item_for_message(instance))


@_guarded
def on_form_submitted(sender, submission, **kwargs) -> None:
    intake.item_store(intake.item_for_submission(submission))


@_guarded
def on_mention_saved(sender, instance, created, **kwargs) -> None:
    item, _created = intake.item_store(intake.item_for_mention(instance))
    if instance.reply_id and item is not None and item.first_responded_at is None:
        reply = instance.reply
        first_response_record(
            thread_key=f"mention:{instance.pk}",
            at=max(reply.created_at or timezone.now(), item.received_at),
            by_id=getattr(reply, "owner_id", None),
        )


def _answers_to_items(response_id: int) -> None:
    from kreis.feedback.models import Answer

    answers = Answer.objects.filter(response_id=response_id).select_related(
        "question", "response__survey", "response__party"
    )
    for answer in answers:
        intake.item_store(intake.item_for_answer(answer))


@_guarded
def on_response_saved(sender, instance, created, **kwargs) -> None:
    # The answers are written (in bulk) after the response: read them once it is committed.
    if created:
        pk = instance.pk
        transaction.on_commit(lambda: _answers_to_items(pk), robust=True)


@_guarded
def on_case_message_saved(sender, instance, created, **kwargs) -> None:
    from kreis.service.models import MessageKind

    if not created:
        return
    if instance.kind == MessageKind.CUSTOMER_MESSAGE:
        intake.item_store(intake.item_for_case_message(instance))
    elif instance.kind == MessageKind.CUSTOMER_REPLY and instance.author_id is not None:
        # A person answered (the automatic acknowledgement has no author and counts not).
        first_response_record(
            thread_key=f"case:{instance.case_id}",
            at=instance.created_at,
            by_id=instance.author_id,
        )


@_guarded
def on_case_saved(sender, instance, created, **kwargs) -> None:
    if created:
        intake.item_store(intake.item_for_form_case(instance))
        return
    # The case changed hands: its complaint items are seen by its new owner and team.
    InboxItem.objects.filter(case_id=instance.pk, channel=InboxChannel.COMPLAINT).exclude(
        owner_id=instance.owner_id, team_id=instance.team_id
    ).update(owner_id=instance.owner_id, team_id=instance.team_id)


def connect() -> None:
    from kreis.comms.models import Message
    from kreis.feedback.models import Response
    from kreis.marketing.signals import form_submitted
    from kreis.service.models import Case, CaseMessage
    from kreis.social.models import Mention

    uid = "kreis.inbox"
    post_save.connect(on_mail_saved, sender=Message, dispatch_uid=f"{uid}.mail")
    m2m_changed.connect(
        on_mail_parties, sender=Message.parties.through, dispatch_uid=f"{uid}.mail_parties"
    )
    form_submitted.connect(on_form_submitted, dispatch_uid=f"{uid}.form")
    post_save.connect(on_mention_saved, sender=Mention, dispatch_uid=f"{uid}.mention")
    post_save.connect(on_response_saved, sender=Response, dispatch_uid=f"{uid}.response")
    post_save.connect(on_case_message_saved, sender=CaseMessage, dispatch_uid=f"{uid}.casemsg")
    post_save.connect(on_case_saved, sender=Case, dispatch_uid=f"{uid}.case")
