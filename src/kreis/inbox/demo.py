"""Demo data for the unified inbox: the items of the demo's mail, mentions, form submissions,
complaints and survey comments (made by the receivers as those steps ran, and by a backfill
for what came in without a signal), then worked on the way a team would: the older ones
answered and done, some waiting for the customer, some snoozed, some assigned to a colleague
— and a few old ones left unanswered, so the SLA breach shows."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kreis.core.demo import DemoContext
from kreis.inbox.backfill import backfill
from kreis.inbox.models import InboxItem, ItemStatus


def create_inbox(context: DemoContext) -> dict[str, int]:
    backfill()
    rng = random.Random(15)  # noqa: S311  (demo data, not secrets)
    now = timezone.now()
    items = list(InboxItem.objects.order_by("received_at", "pk"))
    changed = []
    counts = {"answered": 0, "snoozed": 0, "pending": 0, "assigned": 0}
    members = {
        team.pk: [u for u in context.users if team.pk in u.team_ids()] for team in context.teams
    }
    for index, item in enumerate(items):
        age = now - item.received_at
        roll = rng.random()
        if item.assignee_id is None and item.assigned_team_id in members and roll < 0.5:
            people = members[item.assigned_team_id]
            if people:
                item.assignee_id = rng.choice(people).pk
                counts["assigned"] += 1
        if age > dt.timedelta(days=3) and roll < 0.8:
            # Answered within (mostly) or after the due time, then done.
            late = rng.random() < 0.15
            due = item.first_response_due_at or item.received_at
            delay = (due - item.received_at) * (1.5 if late else rng.uniform(0.1, 0.9))
            item.first_responded_at = item.received_at + delay
            item.first_responded_by_id = item.assignee_id
            item.status = ItemStatus.DONE
            item.done_at = item.first_responded_at
            counts["answered"] += 1
        elif index % 7 == 0:
            item.status = ItemStatus.SNOOZED
            item.snoozed_until = now + dt.timedelta(hours=rng.randint(2, 72))
            counts["snoozed"] += 1
        elif index % 5 == 0:
            item.first_responded_at = min(now, item.received_at + dt.timedelta(hours=2))
            item.first_responded_by_id = item.assignee_id
            item.status = ItemStatus.PENDING
            counts["pending"] += 1
        changed.append(item)
    InboxItem.objects.bulk_update(
        changed,
        [
            "assignee", "status", "snoozed_until", "first_responded_at", "first_responded_by",
            "done_at",
        ],
        batch_size=500,
    )  # fmt: skip
    return {"inbox items": len(items), **{f"inbox {k}": v for k, v in counts.items()}}
