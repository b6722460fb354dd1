"""Reading channel preferences: a party's current ones and their history."""

from __future__ import annotations

from dataclasses import dataclass

from kreis.channels.models import ChannelPreference
from kreis.channels.services import preference_of
from kreis.parties.models import Party

HISTORY_SHOWN = 10


@dataclass
class HistoryEntry:
    when: object
    who: str
    changes: list[tuple[str, str, str]]  # (field label, before, after)


def _shown(record, field) -> str:
    value = getattr(record, field.attname)
    if value in (None, ""):
        return "–"
    if field.choices:
        return str(dict(field.choices).get(value, value))
    return str(value)


def preference_history(party: Party, limit: int = HISTORY_SHOWN) -> list[HistoryEntry]:
    """The latest changes of the party's preferences, newest first: who, when, what."""
    records = list(
        ChannelPreference.history.filter(party_id=party.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    fields = [
        f
        for f in ChannelPreference._meta.concrete_fields
        if f.name not in ("id", "party", "changed_by", "created_at", "updated_at")
    ]
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        if len(entries) == limit:
            break
        changes = [
            (str(f.verbose_name), _shown(older, f) if older else "–", _shown(newer, f))
            for f in fields
            if older is None or getattr(older, f.attname) != getattr(newer, f.attname)
        ]
        changes = [c for c in changes if c[1] != c[2]]
        who = newer.history_user.get_full_name() if newer.history_user else ""
        entries.append(HistoryEntry(when=newer.history_date, who=who or "–", changes=changes))
    return entries


def preferences_for_party(party: Party) -> ChannelPreference:
    return preference_of(party)
