"""Global search over parties, leads and deals: one index, tolerant of typos and umlauts.

Apps register an *indexer* per model (``register_indexer``): it turns a record into a
``SearchDocument`` (title, subtitle, url, the text to search, owner and team) or ``None``
when the record should not be found (deleted). The index lives in ``SearchEntry``; every
text is *folded* the same way at index and at query time (lower case, ä→ae, ö→oe, ü→ue,
ß→ss, other accents dropped), so "Müller", "Mueller" and "MÜLLER" are one word.

Matching: on SQLite an FTS5 trigram table finds candidates sharing trigrams with the query
(a misspelt name still shares most); on PostgreSQL pg_trgm's word similarity and a full-text
prefix query do the same with GIN indexes. Candidates are ranked in Python by how closely the
best-matching words resemble the query words, so one wrong letter still finds the person,
and exact substrings rank first. Owner and team are copied onto each entry, so permissions
apply in the same query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.db import connection, transaction
from django.db.models import Model, Q

# The closest word must be at least this similar: "mülller" vs "mueller" ≈ 0.93,
# "meier" vs "maier" 0.8; "weber" vs "wagner" 0.55 is a different name.
SIMILARITY_FLOOR = 0.72
CANDIDATES = 300


@dataclass(frozen=True)
class SearchHit:
    title: str
    subtitle: str
    url: str
    icon: str  # a Bootstrap Icons name
    entity: str = ""
    object_id: int = 0
    score: float = 1.0


@dataclass(frozen=True)
class SearchDocument:
    title: str
    subtitle: str
    url: str
    icon: str
    text: str
    owner_id: int | None
    team_id: int | None


Indexer = Callable[[Model], SearchDocument | None]
INDEXERS: dict[str, tuple[type[Model], Indexer, Callable[[], Iterable[Model]]]] = {}

# Extra providers (e.g. colleagues); kept for apps that search something not in the index.
SearchProvider = Callable[..., list[SearchHit]]
PROVIDERS: list[SearchProvider] = []


def register_search_provider(provider: SearchProvider) -> None:
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)


def register_indexer(
    entity: str,
    model: type[Model],
    indexer: Indexer,
    *,
    all_records: Callable[[], Iterable[Model]],
) -> None:
    """Make ``model`` searchable as ``entity``; ``all_records`` feeds a full reindex."""
    INDEXERS[entity] = (model, indexer, all_records)


# Records whose search entry shows another record's name (a deal its organisation, a person
# the companies they work for): given a renamed record, each function yields its dependants.
Dependants = Callable[[Model], Iterable[Model]]
DEPENDANTS: list[Dependants] = []


def register_dependants(fetch: Dependants) -> None:
    """``fetch(record)`` yields the records whose entries name ``record`` (any app's models)."""
    if fetch not in DEPENDANTS:
        DEPENDANTS.append(fetch)


def seen_by_the_same(record: Model, other: Model) -> bool:
    """Whether everyone who may see ``record`` may see ``other`` too: the entry of ``record``
    may then carry ``other``'s name (search entries are shared by all users, so a name that
    some who find the record may not see stays out — "Hidden party" is the rule elsewhere).
    Both in the same team, and the record's owner owning ``other`` or in that team."""
    from kreis.core.models import Membership

    team_id = getattr(other, "team_id", None)
    if team_id is None or team_id != getattr(record, "team_id", None):
        return False
    owner_id = getattr(record, "owner_id", None)
    return (
        owner_id is None
        or owner_id == getattr(other, "owner_id", None)
        or Membership.objects.filter(team_id=team_id, user_id=owner_id).exists()
    )


def index_dependants(record: Model) -> None:
    """After a rename: refresh every entry that shows the old name, so the search neither
    shows nor finds it any more. Services call this through ``transaction.on_commit``."""
    for fetch in DEPENDANTS:
        for dependant in fetch(record):
            index_record(dependant)


_PUNCTUATION = re.compile(r"[^\w@.+]+")
_BLANKS = re.compile(r"[\s]+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe"})


def fold(text: str) -> str:
    """Lower case, umlauts spelt out, other accents dropped, punctuation to spaces."""
    text = (text or "").lower().translate(_UMLAUTS)
    if not text.isascii():  # ASCII has nothing to decompose and no accents to drop
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _PUNCTUATION.sub(" ", text).strip()


def _words(text: str) -> list[str]:
    return [w for w in _BLANKS.split(text) if w]


# --- writing the index -------------------------------------------------------------------


def _entity_of(record: Model) -> str | None:
    for entity, (model, _indexer, _all) in INDEXERS.items():
        if isinstance(record, model):
            return entity
    return None


def index_record(record: Model) -> None:
    """Bring the record's entry up to date (or remove it) — call after any change."""
    from kreis.core.models import SearchEntry

    entity = _entity_of(record)
    if entity is None:
        return
    document = INDEXERS[entity][1](record)
    if document is None:
        SearchEntry.objects.filter(entity=entity, object_id=record.pk).delete()
        return
    SearchEntry.objects.update_or_create(
        entity=entity, object_id=record.pk, defaults=_entry_fields(document)
    )


def index_records(records: Iterable[Model], *, created: bool = False) -> int:
    """``index_record`` for many records, in a few statements: their entries are replaced
    (``created``: the records are new, there is nothing to replace). The indexers read what
    they need from each record (prefetch it first). Returns the entries written."""
    documents: dict[str, list[tuple[int, SearchDocument | None]]] = {}
    for record in records:
        entity = _entity_of(record)
        if entity is not None:
            documents.setdefault(entity, []).append((record.pk, INDEXERS[entity][1](record)))
    return sum(
        index_documents(entity, pairs, created=created) for entity, pairs in documents.items()
    )


def index_documents(
    entity: str,
    documents: Iterable[tuple[int, SearchDocument | None]],
    *,
    created: bool = False,
) -> int:
    """Write the entries of many records of ``entity`` from their documents (object id,
    document; ``None`` removes the entry) — the bulk form of ``index_record`` for callers
    that build the documents themselves (bulk creation, imports). One INSERT (COPY on
    PostgreSQL) for all; ``created``: the records are new, no old entries to delete first.
    Runs inside the caller's transaction."""
    from kreis.core.models import SearchEntry

    documents = list(documents)
    if not created:
        ids = [object_id for object_id, _document in documents]
        for start in range(0, len(ids), 500):
            SearchEntry.objects.filter(
                entity=entity, object_id__in=ids[start : start + 500]
            ).delete()
    rows = [
        {"entity": entity, "object_id": object_id, **_entry_fields(document)}
        for object_id, document in documents
        if document is not None
    ]
    return insert_entries(rows)


# Below this many rows the trigger's row-by-row FTS insert costs less than the extra
# statements of the deferred path.
_DEFER_FTS_FROM = 20


def insert_entries(rows: list[dict]) -> int:
    """Insert search entries (dicts of ``SearchEntry`` columns, no ids) in one statement
    (COPY on PostgreSQL). On SQLite, many rows reach the trigram FTS table in one
    ``INSERT … SELECT`` instead of through the row trigger (see core migration 0006: about
    a sixth of the cost); the whole write is one transaction (savepoint) of the caller's."""
    from kreis.core.bulkinsert import insert_rows, reserve_ids
    from kreis.core.models import SearchEntry

    with transaction.atomic():
        if connection.vendor != "sqlite" or len(rows) < _DEFER_FTS_FROM:
            return insert_rows(SearchEntry, rows)
        ids = reserve_ids(SearchEntry, len(rows))
        for row, pk in zip(rows, ids, strict=True):
            row["id"] = pk
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO core_searchfts_deferred (deferred) VALUES (1)")
            count = insert_rows(SearchEntry, rows)
            cursor.execute("DELETE FROM core_searchfts_deferred")
            cursor.execute(
                "INSERT INTO core_searchentry_fts (rowid, text) SELECT id, text "
                "FROM core_searchentry WHERE id BETWEEN %s AND %s",
                [ids[0], ids[-1]],
            )
        return count


def _entry_fields(document: SearchDocument) -> dict:
    return {
        "title": document.title[:200],
        "subtitle": document.subtitle[:200],
        "url": document.url[:200],
        "icon": document.icon,
        "text": fold(document.text)[:4000],
        "owner_id": document.owner_id,
        "team_id": document.team_id,
    }


def reindex(entities: Iterable[str] | None = None, *, progress=None, batch: int = 2000) -> int:
    """Rebuild the index of the given entities (all by default), in batches. Returns entries.
    A full rebuild also drops the entries of entities no longer indexed (an app that moved
    to a search provider)."""
    from kreis.core.models import SearchEntry

    total = 0
    if not entities:
        SearchEntry.objects.exclude(entity__in=list(INDEXERS)).delete()
    for entity in entities or list(INDEXERS):
        _model, indexer, all_records = INDEXERS[entity]
        with transaction.atomic():
            SearchEntry.objects.filter(entity=entity).delete()
            buffer = []
            for record in all_records():
                document = indexer(record)
                if document is None:
                    continue
                buffer.append({"entity": entity, "object_id": record.pk, **_entry_fields(document)})
                if len(buffer) >= batch:
                    total += insert_entries(buffer)
                    buffer = []
                    if progress:
                        progress(entity, total)
            total += insert_entries(buffer)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_searchentry_fts(core_searchentry_fts) VALUES ('optimize')"
            )
    return total


# --- querying ----------------------------------------------------------------------------


def _visible(queryset, user):
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_admin:
        return queryset
    return queryset.filter(Q(owner_id=user.pk) | Q(team_id__in=user.team_ids()))


def _visible_sql(user, alias: str) -> tuple[str, list] | None:
    """``_visible`` as an SQL condition on ``alias`` ("" for everyone; None for no one)."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_admin:
        return "", []
    team_ids = list(user.team_ids())
    condition = f"{alias}.owner_id = %s"
    if team_ids:
        condition += f" OR {alias}.team_id IN ({', '.join(['%s'] * len(team_ids))})"
    return f" AND ({condition})", [user.pk, *team_ids]


def candidate_ids(query: str, *, user=None) -> list[int] | None:
    """Ids of entries sharing trigrams with the folded query, best first (``None``: no index).

    With ``user``, only entries the user may see compete for the places: on a large database
    a common name matches thousands of entries, mostly other teams', and the database ranks
    only the visible ones (a rep's search ranked every team's matches first, several times
    the work, and kept the few of the best that were theirs)."""
    words = [w for w in _words(query) if len(w) >= 3]
    if not words:
        return None
    visible = ("", []) if user is None else _visible_sql(user, "core_searchentry")
    if visible is None:
        return []
    condition, params = visible
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            grams = sorted({w[i : i + 3] for w in words for i in range(len(w) - 2)})
            match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
            # bm25() is FTS5's rank; in the ORDER BY it is worked out for the rows that pass
            # the visibility condition only ("ORDER BY rank" ranks every match first).
            join = (
                " JOIN core_searchentry ON core_searchentry.id = core_searchentry_fts.rowid"
                if condition
                else ""
            )
            cursor.execute(
                # Only placeholders and fixed names are put in (_visible_sql).
                f"SELECT core_searchentry_fts.rowid FROM core_searchentry_fts{join} "  # noqa: S608
                f"WHERE core_searchentry_fts MATCH %s{condition} "
                "ORDER BY bm25(core_searchentry_fts) LIMIT %s",
                [match, *params, CANDIDATES],
            )
        elif connection.vendor == "postgresql":
            terms = [re.sub(r"[^\w]", "", w) for w in words]
            prefix = " & ".join(t + ":*" for t in terms if t)
            # The default threshold (0.6) misses one-letter slips in short names; the
            # Python ranking below sorts out the looser candidates. pg_trgm must be loaded
            # first (loading it resets the setting), and a rolled-back transaction undoes
            # it, so it is set on every search.
            cursor.execute("SELECT show_limit()")
            cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.45', false)")
            cursor.execute(
                "SELECT id FROM core_searchentry WHERE (text %%> %s "  # noqa: S608
                "OR (%s <> '' AND to_tsvector('simple', text) @@ to_tsquery('simple', %s)))"
                f"{condition} ORDER BY word_similarity(%s, text) DESC LIMIT %s",
                [query, prefix, prefix or "x", *params, query, CANDIDATES],
            )
        else:
            return None
        return [row[0] for row in cursor.fetchall()]


def _closest(q: str, words: list[str], seen: dict[str, float]) -> float:
    """How similar ``q`` is to its closest word, exact wherever it reaches the floor (below
    the floor only "too far" matters). The ratio is 2·M/(len(q) + len(w)) with M the
    characters difflib matches, at most the shorter length and at most the characters both
    share: a word whose bound stays below the floor, or not above the best so far, cannot
    change the result and is not matched. ``seen`` keeps ratios for the rest of the query."""
    best = 0.0
    size = len(q)
    letters: dict[str, int] | None = None
    for w in words:
        length = size + len(w)
        if 2.0 * min(size, len(w)) / length < SIMILARITY_FLOOR:
            continue
        ratio = seen.get(w)
        if ratio is None:
            if letters is None:
                letters = {}
                for c in q:
                    letters[c] = letters.get(c, 0) + 1
            left = dict(letters)
            shared = 0
            for c in w:
                if left.get(c):
                    left[c] -= 1
                    shared += 1
            if 2.0 * shared / length < SIMILARITY_FLOOR:
                ratio = 0.0
            else:
                ratio = SequenceMatcher(None, q, w).ratio()
            seen[w] = ratio
        if ratio > best:
            best = ratio
    return best


def _score(query: str, text: str, title: str = "", seen: dict | None = None) -> float:
    """How well the entry matches: the title before the rest, exact before similar, each
    query word against its closest word of the text."""
    title = fold(title)
    if title.startswith(query):
        return 3.0
    if query in title:
        return 2.5
    if query in text:
        return 2.0
    words = _words(text)
    if not words:
        return 0.0
    seen = {} if seen is None else seen
    total = 0.0
    for q in _words(query):
        # A query word holds no blank, so it is inside the text only inside one of its words.
        best = 1.0 if q in text else _closest(q, words, seen.setdefault(q, {}))
        if best < SIMILARITY_FLOOR:
            return 0.0
        total += best
    return total / len(_words(query))


def search_index(*, user, text: str, limit: int = 8, entities: Iterable[str] | None = None):
    """Hits the user may see, best first, tolerant of small typos and umlaut spellings."""
    from kreis.core.models import SearchEntry

    query = fold(text)[:100]
    if len(query) < 2:
        return []
    entries = _visible(SearchEntry.objects.all(), user)
    # Only registered entities: entries left from an app that now searches through a
    # provider (segments, web forms) would show twice, and by the old rule.
    entries = entries.filter(entity__in=list(entities or INDEXERS))
    ids = candidate_ids(query, user=user)
    if ids is None:
        # Short words (or another database): plain substring match.
        rows = entries.filter(text__contains=query)[:CANDIDATES]
    else:
        rows = entries.filter(pk__in=ids)
    # Named tuples of what the ranking and the hits use (no model instances).
    fields = ("entity", "object_id", "title", "subtitle", "url", "icon", "text")
    candidates = list(rows.values_list(*fields, named=True))
    seen: dict[str, dict[str, float]] = {}
    scored = [(e, _score(query, e.text, e.title, seen)) for e in candidates]
    scored = [(e, s) for e, s in scored if s > 0]
    scored.sort(key=lambda pair: (-pair[1], pair[0].title))
    return [
        SearchHit(
            title=e.title,
            subtitle=e.subtitle,
            url=e.url,
            icon=e.icon,
            entity=e.entity,
            object_id=e.object_id,
            score=round(s, 3),
        )
        for e, s in scored[:limit]
    ]


def search_all(*, user, text: str, limit: int = 8) -> list[SearchHit]:
    hits = search_index(user=user, text=text, limit=limit)
    for provider in PROVIDERS:
        hits.extend(provider(user=user, text=text, limit=limit))
    return hits
