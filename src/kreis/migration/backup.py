"""Backup and restore: every table and every uploaded file in one archive, restored exactly.

The archive is a zip file:

- ``data/<table>.jsonl``: one file per table of every installed model (Kreis's apps, users
  and teams, allauth, history, content types, sessions …, many-to-many tables too), one row
  per line as a JSON array in the column order the manifest names. Values are typed so that
  SQLite and PostgreSQL read them alike: decimals as strings (exact), date-times ISO 8601 in
  UTC with their offset, dates and times ISO, durations ISO, binary as base64, JSON fields as
  JSON, everything else as JSON does it.
- ``media/<path>``: the uploaded files under ``MEDIA_ROOT``.
- ``manifest.json`` (last): Kreis version, database it came from, schema (the latest applied
  migration of each app), per table its columns and row count, and the SHA-256 of every
  member.

A restore goes into an instance that is migrated to the same schema and holds no data (only
what ``migrate`` itself creates: content types and permissions). It first reads the whole
archive and checks every member's checksum and every table's row count against the
manifest: a damaged or altered archive is refused before anything is written. Then it
empties the tables ``migrate`` filled and inserts every row in ONE transaction (foreign keys
are checked at commit, so the order of tables does not matter), resets PostgreSQL's
sequences, and writes the media files. The search index is a table like any other; on SQLite
its full-text shadow table is filled by its triggers as the rows go in.

Why not ``dumpdata``/``loaddata``: they build a model instance per row and serialise through
Python's object model, and loaddata saves row by row (signals off, but one INSERT each);
here rows are read with ``values_list`` and written with ``executemany`` in chunks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils.dateparse import parse_duration
from django.utils.duration import duration_iso_string

FORMAT = "kreis-backup/1"
MANIFEST = "manifest.json"
CHUNK = 5000
# Tables ``migrate`` fills by itself (content types, permissions, the default pipeline with
# its stages and lost reasons from sales' data migration, the default SLA policies, case
# categories and root causes from service's, the default consent texts and playbooks): an
# instance holding only these is empty. A restore empties them and puts the backup's rows in,
# so that the ids that history, permissions, deals and cases point to are the backup's.
SEEDED_BY_MIGRATE = frozenset(
    {
        *("django_content_type", "auth_permission"),
        *("sales_pipeline", "sales_stage", "sales_lostreason"),
        *("service_slapolicy", "service_casecategory", "service_rootcause"),
        "marketing_consenttext",
        *("playbooks_playbook", "playbooks_playbookstep"),
    }
)


class BackupError(Exception):
    """A backup that cannot be restored here (damaged, other schema, instance not empty)."""


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    name: str
    fields: list[models.Field]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields]


def tables(using: str = "default") -> list[Table]:
    """Every table a model of an installed app keeps in the database (auto-created
    many-to-many tables included; proxies and unmanaged models are another's tables; a model
    whose migration has not run here has no table yet)."""
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    found, seen = [], set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in seen:
            continue
        if meta.db_table not in existing:
            continue
        seen.add(meta.db_table)
        with connection.cursor() as cursor:
            described = connection.introspection.get_table_description(cursor, meta.db_table)
        columns = {column.name for column in described}
        # The database's columns: a field added in code whose migration has not run is not
        # in the table yet (and could not be restored into this schema either).
        fields = [f for f in meta.concrete_fields if f.column in columns]
        found.append(Table(model, meta.db_table, fields))
    return sorted(found, key=lambda t: t.name)


def schema(using: str = "default") -> dict[str, str]:
    """The latest applied migration of each app: what a restore target must match."""
    latest: dict[str, str] = {}
    recorder = MigrationRecorder(connections[using])
    for app, name in sorted(recorder.applied_migrations()):
        if name > latest.get(app, ""):
            latest[app] = name
    return latest


# --- values ---------------------------------------------------------------------------------


def _encoder(field: models.Field) -> Callable[[Any], Any]:
    """A field's value (as ``values_list`` reads it) → a JSON value."""
    kind = field.get_internal_type()
    if kind == "DecimalField":
        return lambda v: None if v is None else str(v)
    if kind in ("DateTimeField", "DateField", "TimeField"):
        return lambda v: None if v is None else v.isoformat()
    if kind == "DurationField":
        return lambda v: None if v is None else duration_iso_string(v)
    if kind == "UUIDField":
        return lambda v: None if v is None else str(v)
    if kind == "BinaryField":
        return lambda v: None if v is None else base64.b64encode(bytes(v)).decode("ascii")
    return lambda v: v


def _decoder(field: models.Field) -> Callable[[Any], Any]:
    """A JSON value → what the field saves (then through ``get_db_prep_save``)."""
    kind = field.get_internal_type()
    if kind == "DecimalField":
        return lambda v: None if v is None else Decimal(v)
    if kind == "DateTimeField":
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if kind == "DateField":
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if kind == "TimeField":
        return lambda v: None if v is None else dt.time.fromisoformat(v)
    if kind == "DurationField":
        return lambda v: None if v is None else parse_duration(v)
    if kind == "UUIDField":
        return lambda v: None if v is None else uuid.UUID(v)
    if kind == "BinaryField":
        return lambda v: None if v is None else base64.b64decode(v)
    return lambda v: v


# --- writing --------------------------------------------------------------------------------


class _Hashing:
    """A write-only stream that hashes and counts what passes through."""

    def __init__(self, target) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.target.write(data)


def _rows(table: Table, using: str) -> Iterator[list]:
    encoders = [_encoder(f) for f in table.fields]
    query = (
        table.model._base_manager.using(using)
        .order_by(table.model._meta.pk.attname)
        .values_list(*[f.attname for f in table.fields])
    )
    for row in query.iterator(chunk_size=CHUNK):
        yield [encode(value) for encode, value in zip(encoders, row, strict=True)]


@contextmanager
def _snapshot(using: str):
    """One consistent state of the database for every table, so that rows written meanwhile
    cannot leave a foreign key pointing nowhere; writers are not blocked. SQLite (WAL): a
    deferred read transaction (Django's ``atomic`` would take the write lock at once here);
    PostgreSQL: a read-only REPEATABLE READ transaction."""
    connection = connections[using]
    if connection.in_atomic_block:  # called inside a transaction: it is the snapshot
        yield
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def backup_write(path: str | os.PathLike, *, using: str = "default", log=None) -> dict:
    """Write every table and uploaded file into a zip archive at ``path``; return the
    manifest. The archive is written beside ``path`` and renamed when complete."""
    from kreis import __version__

    path = Path(path)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "kreis_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": connections[using].vendor,
        "schema": schema(using),
        "tables": {},
        "media": {},
    }
    partial = path.with_name(path.name + ".part")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with _snapshot(using):
                for table in tables(using):
                    member = f"data/{table.name}.jsonl"
                    count = 0
                    with archive.open(member, "w", force_zip64=True) as raw:
                        out = _Hashing(raw)
                        lines = []
                        for row in _rows(table, using):
                            lines.append(json.dumps(row, ensure_ascii=False, default=str))
                            count += 1
                            if len(lines) >= CHUNK:
                                out.write(("\n".join(lines) + "\n").encode("utf-8"))
                                lines.clear()
                        if lines:
                            out.write(("\n".join(lines) + "\n").encode("utf-8"))
                    manifest["tables"][table.name] = {
                        "model": table.model._meta.label_lower,
                        "columns": table.columns,
                        "rows": count,
                        "sha256": out.sha.hexdigest(),
                        "bytes": out.size,
                    }
                    if log:
                        log(f"{table.name}: {count} rows")
            root = Path(settings.MEDIA_ROOT)
            for file in _media_files():
                name = file.relative_to(root).as_posix()
                with file.open("rb") as source, archive.open(f"media/{name}", "w") as raw:
                    out = _Hashing(raw)
                    while block := source.read(1 << 20):
                        out.write(block)
                manifest["media"][name] = {"sha256": out.sha.hexdigest(), "bytes": out.size}
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return manifest


# --- reading and checking -------------------------------------------------------------------


def _safe_media_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def backup_verify(path: str | os.PathLike) -> dict:
    """Read the whole archive: every member's SHA-256 and every table's row count must be as
    the manifest says, and nothing may be in it that the manifest does not list. Returns the
    manifest; raises ``BackupError`` otherwise. Writes nothing."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"not a Kreis backup archive: {exc}") from exc
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except (KeyError, ValueError) as exc:
            raise BackupError("the archive has no readable manifest") from exc
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {manifest.get('format')!r}")
        expected = {f"data/{name}.jsonl": info for name, info in manifest["tables"].items()}
        expected |= {f"media/{name}": info for name, info in manifest["media"].items()}
        bad_names = [n for n in manifest["media"] if not _safe_media_name(n)]
        if bad_names:
            raise BackupError(f"unsafe file names in the archive: {bad_names[:3]}")
        present = set(archive.namelist()) - {MANIFEST}
        if present != set(expected):
            extra, missing = present - set(expected), set(expected) - present
            raise BackupError(
                f"the archive's members do not match its manifest "
                f"(unlisted: {sorted(extra)[:3]}, missing: {sorted(missing)[:3]})"
            )
        for member, info in expected.items():
            sha, lines = hashlib.sha256(), 0
            try:
                with archive.open(member) as stream:
                    while block := stream.read(1 << 20):
                        sha.update(block)
                        lines += block.count(b"\n")
            except (zipfile.BadZipFile, OSError) as exc:  # CRC errors, truncation
                raise BackupError(f"{member} is damaged: {exc}") from exc
            if sha.hexdigest() != info["sha256"]:
                raise BackupError(f"checksum mismatch in {member}: the archive was altered")
            if member.startswith("data/") and lines != info["rows"]:
                raise BackupError(f"{member} holds {lines} rows, the manifest says {info['rows']}")
    return manifest


def instance_rows(using: str = "default") -> dict[str, int]:
    """Rows per table of this instance, leaving out the tables ``migrate`` fills itself."""
    counts = {}
    with connections[using].cursor() as cursor:
        quote = connections[using].ops.quote_name
        for table in tables(using):
            if table.name in SEEDED_BY_MIGRATE:
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table.name)}")  # noqa: S608
            count = cursor.fetchone()[0]
            if count:
                counts[table.name] = count
    return counts


# --- restoring ------------------------------------------------------------------------------


def _insert_table(cursor, connection, table: Table, info: dict, lines: Iterator[bytes]) -> int:
    by_column = {f.column: f for f in table.fields}
    unknown = [c for c in info["columns"] if c not in by_column]
    if unknown:
        raise BackupError(f"{table.name}: columns {unknown} do not exist here")
    fields = [by_column[c] for c in info["columns"]]
    decoders = [_decoder(f) for f in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the models)
        quote(table.name),
        ", ".join(quote(c) for c in info["columns"]),
        ", ".join(["%s"] * len(fields)),
    )
    batch, count = [], 0
    for line in lines:
        values = json.loads(line)
        batch.append(
            [
                field.get_db_prep_save(decode(value), connection)
                for field, decode, value in zip(fields, decoders, values, strict=True)
            ]
        )
        if len(batch) >= CHUNK:
            cursor.executemany(sql, batch)
            count += len(batch)
            batch.clear()
    if batch:
        cursor.executemany(sql, batch)
        count += len(batch)
    return count


def backup_restore(
    path: str | os.PathLike, *, using: str = "default", force: bool = False, log=None
) -> dict:
    """Restore an archive written by ``backup_write`` into this instance; return the
    manifest. Refuses (``BackupError``, nothing written) a damaged archive, another schema,
    or an instance that holds data (unless ``force``: then its data is replaced)."""
    manifest = backup_verify(path)
    here = schema(using)
    if manifest["schema"] != here:
        differing = sorted(
            app
            for app in set(here) | set(manifest["schema"])
            if here.get(app) != manifest["schema"].get(app)
        )
        raise BackupError(
            "the backup was made with another database schema (apps "
            f"{', '.join(differing[:6])}); migrate this instance to the backup's version first"
        )
    known = {t.name: t for t in tables(using)}
    missing = sorted(set(manifest["tables"]) - set(known))
    if missing:
        raise BackupError(f"tables of the backup that this instance lacks: {missing[:5]}")
    if not force:
        holding = instance_rows(using)
        if holding:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(holding.items())[:5])
            raise BackupError(
                "this instance already holds data: "
                f"{listed}{' …' if len(holding) > 5 else ''}. Restore into a new, migrated "
                "instance, or pass --force to replace everything in it"
            )
    media_root = Path(settings.MEDIA_ROOT)
    connection = connections[using]
    with zipfile.ZipFile(path) as archive:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            quote = connection.ops.quote_name
            for name in sorted(known, reverse=True):
                cursor.execute(f"DELETE FROM {quote(name)}")  # noqa: S608
            for name, info in manifest["tables"].items():
                with archive.open(f"data/{name}.jsonl") as stream:
                    count = _insert_table(cursor, connection, known[name], info, iter(stream))
                if log:
                    log(f"{name}: {count} rows")
            if connection.vendor == "postgresql":
                models_ = [t.model for t in known.values()]
                for statement in connection.ops.sequence_reset_sql(no_style(), models_):
                    cursor.execute(statement)
        # The database is in; now the files (their checksums were verified above).
        if manifest["media"]:
            staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=_parent(media_root)))
            try:
                for name in manifest["media"]:
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(f"media/{name}") as source, target.open("wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                media_root.mkdir(parents=True, exist_ok=True)
                for name in manifest["media"]:
                    destination = media_root / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / name, destination)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()  # its ids are the backup's now
    return manifest


def _parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent
