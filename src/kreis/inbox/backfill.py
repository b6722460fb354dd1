"""``kreis inbox backfill``: items for inbound messages stored before the inbox listened (or
while a receiver failed). Idempotent: a source that has its item keeps it as it is (its links
brought up to date), so running it again creates nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db import transaction
from django.db.models import Q

from kreis.inbox import intake
from kreis.inbox.models import InboxItem

CHUNK = 500


def _chunks(qs, size: int = CHUNK) -> Iterator[list]:
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk")[:size])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def _sources() -> list[tuple[str, str, object, Callable]]:
    from kreis.comms.models import Direction, Message
    from kreis.feedback.models import Answer, QuestionKind
    from kreis.marketing.models import FormSubmission
    from kreis.service.models import Case, CaseMessage, Channel, MessageKind
    from kreis.social.models import Mention

    return [
        (
            "email",
            "comms.message",
            Message.objects.filter(
                direction=Direction.INBOUND, is_shared=True, is_bounce=False
            ).select_related("account"),
            intake.item_for_message,
        ),
        (
            "webform",
            "marketing.formsubmission",
            FormSubmission.objects.filter(
                Q(lead__isnull=False) | Q(party__isnull=False)
            ).select_related("form", "lead", "party"),
            intake.item_for_submission,
        ),  # fmt: skip
        (
            "social",
            "social.mention",
            Mention.objects.select_related("party", "case", "lead"),
            intake.item_for_mention,
        ),
        (
            "survey",
            "feedback.answer",
            Answer.objects.filter(question__kind=QuestionKind.TEXT)
            .exclude(text="")
            .select_related("question", "response__survey", "response__party"),
            intake.item_for_answer,
        ),  # fmt: skip
        (
            "complaint",
            "service.casemessage",
            CaseMessage.objects.filter(kind=MessageKind.CUSTOMER_MESSAGE).select_related(
                "case__party"
            ),
            intake.item_for_case_message,
        ),
        (
            "complaint",
            "service.case",
            Case.objects.filter(channel=Channel.FORM).select_related("party"),
            intake.item_for_form_case,
        ),
    ]


def backfill(*, channel: str = "", progress: Callable[[str, int], None] | None = None) -> dict:
    """Make the missing items: {source type: items created}."""
    created: dict[str, int] = {}
    for name, source_type, qs, build in _sources():
        if channel and channel != name:
            continue
        count = 0
        for rows in _chunks(qs):
            have = set(
                InboxItem.objects.filter(
                    source_type=source_type, source_id__in=[r.pk for r in rows]
                ).values_list("source_id", flat=True)
            )
            with transaction.atomic():
                for row in rows:
                    if row.pk in have:
                        continue
                    _item, new = intake.item_store(build(row))
                    count += new
            if progress:
                progress(source_type, count)
        created[source_type] = count
    return created
