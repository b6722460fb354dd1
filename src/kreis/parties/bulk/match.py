"""Which rows of a batch are parties Kreis has already — and which repeat an earlier row.

The rules of the duplicate warning (``queries.likely_duplicates``), in a fixed number of
queries per batch instead of several per row, tried in this order:

1. the same external ID (one ``IN`` query);
2. the same normalised e-mail address or phone number (one ``IN`` query on the contact
   points of live parties of the same kind);
3. for persons working for a company: a similar name (the same folded name, or a
   ``SequenceMatcher`` ratio of at least 0.85 as in the warning) *and* the same company —
   the staff of the batch's organisations in one query; for organisations and persons
   without a company: the same name (one ``IN`` query; typos are not matched here, as that
   would take a fuzzy search per row).

Rows are matched against each other by the same keys (row 7 repeats row 3): the first row
with a key is remembered in ``seen`` (key's digest → the caller's label of that row, e.g. the file
row number), which the caller may keep across batches.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from hashlib import blake2b
from typing import Any

from kreis.core.search import fold
from kreis.parties.bulk.create import PartyDraft
from kreis.parties.models import ContactKind, ContactPoint, Employment, Party, PartyKind

EXTERNAL_ID = "external_id"
EMAIL = "email"
PHONE = "phone"
NAME = "name"
SIMILAR = 0.85  # as the duplicate warning (queries._similar_name)


@dataclass(frozen=True, slots=True)
class PartyMatch:
    """The row is ``party_id`` (a party in the database), or repeats the row labelled
    ``same_as`` (an earlier row of the batch or file); ``by`` names the rule."""

    by: str
    party_id: int | None = None
    same_as: Hashable | None = None


def _similar(a: str, b: str, a_letters: Counter[str], b_letters: Counter[str]) -> bool:
    """``SequenceMatcher(None, a, b).ratio() >= SIMILAR``, its upper bounds asked first as
    the matcher asks them (``real_quick_ratio``: the lengths; ``quick_ratio``: the letters in
    common, here from the names' letter counts made once each) — most pairs fail those, and
    building a matcher cost more than all the rest of matching."""
    if a == b:
        return True
    length = len(a) + len(b)
    if 2.0 * min(len(a), len(b)) / length < SIMILAR:
        return False
    if 2.0 * (a_letters & b_letters).total() / length < SIMILAR:
        return False
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


def _company_key(draft: PartyDraft) -> Hashable | None:
    if draft.organization is not None and draft.organization.pk:
        return ("id", draft.organization.pk)
    if draft.organization_key is not None:
        external_id, name = draft.organization_key
        return ("external_id", external_id) if external_id else ("name", fold(name))
    return None


def _keys(draft: PartyDraft) -> list[tuple[str, Hashable]]:
    """The row's keys for matching within the file, strongest first."""
    keys: list[tuple[str, Hashable]] = []
    if draft.fields.get("external_id"):
        keys.append((EXTERNAL_ID, draft.fields["external_id"]))
    for kind, value, _label, _primary in draft.contacts:
        if kind in (ContactKind.EMAIL, ContactKind.PHONE):
            keys.append((kind, (draft.kind, value)))
    folded = fold(draft.fields.get("name", ""))
    if folded:
        keys.append((NAME, (draft.kind, _company_key(draft), folded)))
    return keys


def match_parties(
    drafts: Sequence[PartyDraft],
    *,
    labels: Sequence[Hashable] | None = None,
    seen: MutableMapping[Hashable, Hashable] | None = None,
) -> list[PartyMatch | None]:
    """Per draft: the existing party it is (database first), else the earlier row it
    repeats, else ``None``. ``labels`` name the rows in ``seen`` (default: ``draft.row``);
    rows without a match add their keys to ``seen``. Four queries at most."""
    labels = list(labels) if labels is not None else [d.row for d in drafts]
    seen = {} if seen is None else seen
    found: list[PartyMatch | None] = [None] * len(drafts)

    external_ids = {d.fields["external_id"] for d in drafts if d.fields.get("external_id")}
    if external_ids:
        by_external = dict(
            # Unordered: by name (the default), SQLite walked the name index of every party
            # instead of looking the external IDs up.
            Party.objects.filter(external_id__in=external_ids, deleted_at__isnull=True)
            .order_by()
            .values_list("external_id", "pk")
        )
        for i, draft in enumerate(drafts):
            pk = by_external.get(draft.fields.get("external_id"))
            if pk is not None:
                found[i] = PartyMatch(EXTERNAL_ID, party_id=pk)

    values = {
        (d.kind, value)
        for i, d in enumerate(drafts)
        if found[i] is None
        for kind, value, _label, _primary in d.contacts
        if kind in (ContactKind.EMAIL, ContactKind.PHONE)
    }
    if values:
        owners: dict[tuple[str, str], int] = {}
        rows = (
            ContactPoint.objects.filter(
                kind__in=(ContactKind.EMAIL, ContactKind.PHONE),
                value__in={v for _k, v in values},
                party__deleted_at__isnull=True,
            )
            .order_by("party_id")
            .values_list("party__kind", "value", "party_id")
        )
        for party_kind, value, party_id in rows:
            owners.setdefault((party_kind, value), party_id)
        for i, draft in enumerate(drafts):
            if found[i] is not None:
                continue
            for kind, value, _label, _primary in draft.contacts:
                pk = owners.get((draft.kind, value))
                if pk is not None and kind in (ContactKind.EMAIL, ContactKind.PHONE):
                    found[i] = PartyMatch(kind, party_id=pk)
                    break

    # Organisations, and persons without a company, by their name.
    by_name_only = [
        i
        for i, d in enumerate(drafts)
        if found[i] is None and (d.kind == PartyKind.ORGANIZATION or _company_key(d) is None)
    ]
    if by_name_only:
        by_name: dict[tuple[str, str], int] = {}
        for kind, name, pk in (
            Party.objects.filter(
                deleted_at__isnull=True,
                name__in={drafts[i].fields["name"] for i in by_name_only},
            )
            .order_by("pk")
            .values_list("kind", "name", "pk")
        ):
            by_name.setdefault((kind, name), pk)
        for i in by_name_only:
            pk = by_name.get((drafts[i].kind, drafts[i].fields["name"]))
            if pk is not None:
                found[i] = PartyMatch(NAME, party_id=pk)

    companies = {
        d.organization.pk
        for i, d in enumerate(drafts)
        if found[i] is None
        and d.kind == PartyKind.PERSON
        and d.organization is not None
        and d.organization.pk
    }
    if companies:
        staff: dict[int, list[tuple[str, int, Counter[str]]]] = defaultdict(list)
        for organization_id, name, pk in (
            Employment.objects.filter(
                organization_id__in=companies, person__deleted_at__isnull=True
            )
            .order_by("person_id")
            .values_list("organization_id", "person__name", "person_id")
        ):
            folded = fold(name)
            staff[organization_id].append((folded, pk, Counter(folded)))
        for i, draft in enumerate(drafts):
            if found[i] is not None or draft.kind != PartyKind.PERSON:
                continue
            if draft.organization is None or not draft.organization.pk:
                continue
            folded = fold(draft.fields["name"])
            letters = Counter(folded)
            for name, pk, name_letters in staff.get(draft.organization.pk, ()):
                if _similar(folded, name, letters, name_letters):
                    found[i] = PartyMatch(NAME, party_id=pk)
                    break

    for i, draft in enumerate(drafts):
        keys = [(by, _digest(by, key)) for by, key in _keys(draft)]
        if found[i] is None:
            for by, digest in keys:
                earlier = seen.get(digest)
                if earlier is not None and earlier != labels[i]:
                    found[i] = PartyMatch(by, same_as=earlier)
                    break
        if found[i] is None or found[i].party_id is not None:
            for _by, digest in keys:
                seen.setdefault(digest, labels[i])
    return found


def _digest(by: str, key: Hashable) -> bytes:
    """A key of ``seen`` in 16 bytes: an import of a million rows keeps three or four keys a
    row for the whole run, as nested tuples of strings ~1 KB a row (a gigabyte); a 128-bit
    BLAKE2 digest of the key's text is a ninth of that, and two keys sharing one is
    beyond chance."""
    return blake2b(_text((by, key)).encode(), digest_size=16).digest()


def _text(part: Any) -> str:
    """The key as text, its strings as they compare (a ``PartyKind`` as its value)."""
    if isinstance(part, tuple):
        return "\x1f".join(_text(p) for p in part)
    return "\x1e" if part is None else str(part)
