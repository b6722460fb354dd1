"""What a connector has to import now: the new files of a watched folder, or the content of a
URL if it changed since the last run.

Folder: a file counts as new when its content (SHA-256) was never imported by this connector;
renaming or touching an imported file imports nothing. A file still being written is left
for the next run: it must be at least ``SETTLE_SECONDS`` old and unchanged while it is read.
Hidden files and the usual partial-download names (``.part``, ``.tmp``, ``~``) are ignored,
and symbolic links are not followed. Folders must lie inside ``KREIS_CONNECTOR_FOLDERS``.

URL: a conditional GET (``If-None-Match`` with the last ETag, ``If-Modified-Since`` with the
last ``Last-Modified``); 304, or a body identical to the last one imported, means nothing new.
The request goes through ``core.netguard`` (http/https only, no private targets unless the
administrator allowed them for this connector, size limit, timeout).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kreis.core import netguard
from kreis.migration.models import Connector, ConnectorKind

SETTLE_SECONDS = 60
URL_TIMEOUT_SECONDS = 120
IGNORED_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", "~")
DONE_FOLDER = "done"
KEEP_SEEN = 1000  # digests remembered per connector (of files no longer in the folder)


@dataclass
class Input:
    """One file to import: the file itself (in the folder, or a temporary copy of the URL's
    answer) and what the state records once it is imported."""

    name: str
    path: Path
    sha256: str
    size: int
    record: dict = field(default_factory=dict)  # folder: name/size/mtime; URL: etag etc.
    temporary: bool = False


@dataclass
class Found:
    inputs: list[Input] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # files still being written
    unchanged: bool = False  # URL answered 304 or with the same content


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_path(location: str) -> Path:
    """The watched folder, which must be an existing folder inside one of the folders the
    server's operator allowed (``KREIS_CONNECTOR_FOLDERS``)."""
    raw = Path(location.strip()).expanduser()
    if not raw.is_absolute() or "\x00" in location:
        raise ValidationError({"location": _("Enter an absolute folder path.")})
    path = raw.resolve()
    roots = settings.KREIS_CONNECTOR_FOLDERS
    if not any(path == root or root in path.parents for root in roots):
        raise ValidationError(
            {
                "location": _("The folder must lie inside %(roots)s (setting %(setting)s).")
                % {
                    "roots": ", ".join(str(root) for root in roots),
                    "setting": "KREIS_CONNECTOR_FOLDERS",
                }
            }
        )
    try:
        exists = path.is_dir()
    except OSError:  # a name too long, no permission to look
        exists = False
    if not exists:
        raise ValidationError(
            {"location": _("The folder %(path)s does not exist.") % {"path": path}}
        )
    return path


def check_location(*, kind: str, location: str, allow_private: bool) -> None:
    """Refuse a location when the connector is saved for what a run would refuse."""
    if kind == ConnectorKind.FOLDER:
        folder_path(location)
        return
    try:
        target = netguard.parse_target(location)
        netguard.refuse_metadata(target.host)  # even where private targets are allowed
        if not allow_private:
            netguard.check_url(location)
    except netguard.TargetRefused as exc:
        raise ValidationError({"location": str(exc)}) from exc


def _candidate(entry: os.DirEntry) -> bool:
    name = entry.name
    return (
        entry.is_file(follow_symlinks=False)
        and not name.startswith(".")
        and not name.lower().endswith(IGNORED_SUFFIXES)
    )


def folder_inputs(connector: Connector, *, now: float | None = None) -> Found:
    """The files of the folder whose content this connector has not imported yet."""
    folder = folder_path(connector.location)
    now = time.time() if now is None else now
    seen: dict = connector.state.get("files", {})
    by_name = {(info["name"], info["size"], info["mtime"]) for info in seen.values()}
    found = Found()
    with os.scandir(folder) as entries:
        candidates = sorted((e for e in entries if _candidate(e)), key=lambda e: e.name)
    for entry in candidates:
        stat = entry.stat(follow_symlinks=False)
        if (entry.name, stat.st_size, stat.st_mtime) in by_name:
            continue
        if now - stat.st_mtime < SETTLE_SECONDS:
            found.waiting.append(entry.name)
            continue
        path = Path(entry.path)
        sha = _sha256_of(path)
        after = path.stat()
        if (after.st_size, after.st_mtime) != (stat.st_size, stat.st_mtime):
            found.waiting.append(entry.name)
            continue
        record = {"name": entry.name, "size": stat.st_size, "mtime": stat.st_mtime}
        if sha in seen:
            seen[sha].update(record)  # the same content again (renamed or touched): nothing new
            continue
        found.inputs.append(Input(entry.name, path, sha, stat.st_size, record))
    return found


def folder_done(connector: Connector, item: Input, *, job_id: int | None) -> None:
    """Remember an imported file (and move it into ``done/`` if the connector says so)."""
    files = connector.state.setdefault("files", {})
    files[item.sha256] = {**item.record, "job": job_id, "at": int(time.time())}
    if connector.move_done and item.path.exists():
        done = item.path.parent / DONE_FOLDER
        done.mkdir(exist_ok=True)
        target = done / item.name
        if target.exists():  # a file of the same name done earlier: keep both
            target = done / f"{item.path.stem}-{item.sha256[:8]}{item.path.suffix}"
        shutil.move(str(item.path), target)
    if len(files) > KEEP_SEEN:
        for sha in sorted(files, key=lambda key: files[key].get("at", 0))[: len(files) - KEEP_SEEN]:
            del files[sha]


def url_inputs(connector: Connector) -> Found:
    """The URL's content if it changed since the last import (conditional GET)."""
    state = connector.state if connector.state.get("url") == connector.location else {}
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    folder = Path(settings.MEDIA_ROOT) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="connector-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        with handle:
            answer = netguard.fetch(
                connector.location,
                headers=headers,
                timeout=URL_TIMEOUT_SECONDS,
                max_bytes=settings.KREIS_IMPORT_MAX_MB * 1024 * 1024,
                allow_private=connector.allow_private,
                sink=handle,
            )
        if answer.status == 304:
            path.unlink()
            return Found(unchanged=True)
        if answer.status != 200:
            raise OSError(
                _("The server answered with status %(status)s.") % {"status": answer.status}
            )
        sha = _sha256_of(path)
        if sha == state.get("sha256"):  # the server sent the same content again
            path.unlink()
            connector.state.update(
                etag=answer.headers.get("etag", ""),
                last_modified=answer.headers.get("last-modified", ""),
            )
            return Found(unchanged=True)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    record = {
        "url": connector.location,
        "etag": answer.headers.get("etag", ""),
        "last_modified": answer.headers.get("last-modified", ""),
        "sha256": sha,
    }
    name = unquote(urlsplit(answer.url).path.rsplit("/", 1)[-1]) or connector.name
    return Found(inputs=[Input(name[:200], path, sha, answer.size, record, temporary=True)])


def url_done(connector: Connector, item: Input, *, job_id: int | None) -> None:
    connector.state.update(item.record, job=job_id, at=int(time.time()))


def find_inputs(connector: Connector) -> Found:
    if connector.kind == ConnectorKind.FOLDER:
        return folder_inputs(connector)
    return url_inputs(connector)


def mark_done(connector: Connector, item: Input, *, job_id: int | None) -> None:
    if connector.kind == ConnectorKind.FOLDER:
        folder_done(connector, item, job_id=job_id)
    else:
        url_done(connector, item, job_id=job_id)
