"""Demo data for channel preferences: a few dozen parties with a preferred channel, language
and contact times, some with opt-outs and a note — generated here, with no network."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kreis.channels.models import Channel, ChannelPreference
from kreis.core.demo import DemoContext
from kreis.parties.models import Party

SIZES = {"small": 30, "large": 200}
NOTES = [
    "Wünscht keine Werbeanrufe mehr (Telefonat).",
    "Asked by e-mail to stop newsletters.",
    "Bitte nur vormittags anrufen.",
    "Prefers a letter for contracts.",
]


def create_channel_preferences(context: DemoContext) -> dict[str, int]:
    rng = random.Random(965)  # noqa: S311  (demo data, not secrets)
    parties = list(
        Party.objects.filter(deleted_at__isnull=True, channel_preference__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[: SIZES.get(context.size, SIZES["small"]) * 3]
    )
    chosen = rng.sample(parties, min(len(parties), SIZES.get(context.size, SIZES["small"])))
    actor = context.users[0] if context.users else None
    now = timezone.now()
    rows = []
    for party_id in chosen:
        pref = ChannelPreference(
            party_id=party_id,
            preferred_channel=rng.choice([c.value for c in Channel] + [""]),
            language=rng.choice(["de", "de", "en", ""]),
            changed_by=actor,
        )
        if rng.random() < 0.4:
            pref.weekdays = "12345"
            pref.time_from, pref.time_to = dt.time(9), dt.time(rng.choice([12, 17]))
        if rng.random() < 0.3:
            field = rng.choice(["no_email_since", "no_call_since", "no_post_since"])
            setattr(pref, field, now - dt.timedelta(days=rng.randint(1, 300)))
            pref.note = rng.choice(NOTES)
        rows.append(pref)
    for pref in rows:  # one by one: each gets its first history entry
        pref._history_user = actor
        pref.save()
    return {"channel preferences": len(rows)}
