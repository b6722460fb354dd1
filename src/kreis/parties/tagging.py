"""Tags of many records at once (leads, deals, parties): the bulk form of ``set_tags``.

Tag names match case-insensitively, as ``set_tags`` matches them; missing tags are created.
The records' history rows (simple-history, ``m2m_fields=[tags]``) get the tags they record,
so a bulk-written version shows its tags like one saved through the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Model
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from kreis.parties.models import Tag


def tags_by_name(names: Iterable[str]) -> dict[str, Tag]:
    """casefolded name → tag, for every name (missing tags created)."""
    wanted = {n.strip()[:50].casefold(): n.strip()[:50] for n in names if n.strip()}
    found: dict[str, Tag] = {}
    if not wanted:
        return found
    for tag in Tag.objects.annotate(lower=Lower("name")).filter(lower__in=list(wanted)):
        found.setdefault(tag.name.casefold(), tag)
    missing = [Tag(name=name) for key, name in wanted.items() if key not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        for tag in Tag.objects.filter(name__in=[t.name for t in missing]):
            found.setdefault(tag.name.casefold(), tag)
    return found


def bulk_set_tags(
    model: type[Model],
    pairs: Sequence[tuple[Model, Sequence[str]]],
    *,
    history: Sequence[Model] = (),
    replace: bool = False,
) -> None:
    """Give each record its tags (new records, or ``replace``: instead of the ones it has);
    ``history`` are
    the records' new history rows, in the same order as ``pairs``, which get the tags too."""
    field = model._meta.get_field("tags")
    through = field.remote_field.through
    own = field.m2m_field_name()  # e.g. "lead"
    tags = tags_by_name(name for _record, names in pairs for name in names)
    if replace:
        through.objects.filter(**{f"{own}_id__in": [r.pk for r, _names in pairs]}).delete()
    links = []
    per_record: list[list] = []
    for record, names in pairs:
        ids = sorted({tags[n.strip()[:50].casefold()].pk for n in names if n.strip()})
        own_links = [through(**{f"{own}_id": record.pk, "tag_id": tag_id}) for tag_id in ids]
        per_record.append(own_links)
        links += own_links
    # The records are new or lost their links above: nothing conflicts, and the links get
    # their ids (the history's copies carry them).
    through.objects.bulk_create(links, batch_size=1000)
    m2m_history = HistoricalRecords.m2m_models.get(field)
    if m2m_history is None or not history:
        return
    rows = [
        m2m_history(history=row, id=link.pk, **{f"{own}_id": link_owner, "tag_id": link.tag_id})
        for row, own_links in zip(history, per_record, strict=True)
        for link in own_links
        for link_owner in [getattr(link, f"{own}_id")]
    ]
    m2m_history.objects.bulk_create(rows, batch_size=1000)


def tag_names(model: type[Model], ids: Sequence[int]) -> dict[int, list[str]]:
    """The tag names of records of ``model``, by record id."""
    field = model._meta.get_field("tags")
    through = field.remote_field.through
    own = f"{field.m2m_field_name()}_id"
    found: dict[int, list[str]] = {}
    for record_id, name in through.objects.filter(**{f"{own}__in": list(ids)}).values_list(
        own, "tag__name"
    ):
        found.setdefault(record_id, []).append(name)
    return found


def tags_differ(names: Sequence[str] | None, current: Sequence[str]) -> bool:
    """Whether ``names`` (None: not given) would change the tags ``current``."""
    return names is not None and sorted(n.strip().casefold() for n in names) != sorted(
        n.casefold() for n in current
    )
