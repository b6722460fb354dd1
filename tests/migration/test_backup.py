"""Backup and restore as an administrator does it: ``kreis backup`` on one instance, ``kreis
restore`` on a new, migrated one, and every table of every model compared row by row —
SQLite to SQLite, PostgreSQL to PostgreSQL, and SQLite to PostgreSQL. Each instance is a real
data folder or database driven through the ``kreis`` command in its own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import psycopg
import pytest

from tests import instances
from tests.conftest import require

pytestmark = pytest.mark.database_independent  # it names its databases itself

ROOT = Path(__file__).resolve().parents[2]
KREIS = str(ROOT / ".venv" / "bin" / "kreis")
PG_SERVER = os.environ.get("KREIS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# One set per test process: pytest-xdist workers (and a second run beside) never share them.
_RUN = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
PG_NAMES = {role: f"test_b_{role}_{_RUN}" for role in ("src", "dst")}

# Every table of every model (many-to-many tables too), each row as typed JSON, sorted by
# primary key: what the two instances are compared by. Run inside an instance's process.
DUMP = """
import json, sys
import django
django.setup()
from django.apps import apps
from decimal import Decimal
import datetime as dt

def plain(value):
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, dt.datetime):
        return ["datetime", value.astimezone(dt.UTC).isoformat()]
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return [type(value).__name__, str(value)]
    if isinstance(value, (bytes, memoryview)):
        return ["bytes", bytes(value).hex()]
    return value

tables = {}
for model in apps.get_models(include_auto_created=True):
    meta = model._meta
    if meta.proxy or not meta.managed:
        continue
    names = [f.attname for f in meta.concrete_fields]
    rows = [[plain(v) for v in row] for row in model._base_manager.values_list(*names)]
    rows.sort(key=lambda row: json.dumps(row[names.index(meta.pk.attname)], default=str))
    tables[meta.db_table] = {"columns": names, "rows": rows}
json.dump(tables, open(sys.argv[1], "w"), default=str)
"""

# Values that test the typing: umlauts, emoji, quotes and newlines in text, nested JSON with
# null and floats, decimals at their scale, microseconds, a many-to-many link, history.
ODD_VALUES = """
from decimal import Decimal
from kreis.parties import services
from kreis.commerce.models import Product
party = services.party_create(
    actor=None, kind="person", first_name="Zoë", last_name="O'Brien-Müller 🙂",
    name="Zoë O'Brien-Müller 🙂", notes="Zeile 1\\nZeile 2\\t\\"zitiert\\"",
    emails=[{"value": "zoe@example.de"}], tags=["VIP", "Ü-Kunde"],
)
type(party).objects.filter(pk=party.pk).update(
    custom={"nested": {"list": [1, 2.5, None, "ü"], "flag": True}, "empty": None}
)
Product.objects.create(sku="ODD-1", name="Ölfass", list_price=Decimal("9999999999.99"),
                       unit_cost=Decimal("0.01"))
"""


def _env(data: Path, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env |= {"KREIS_DATA": str(data), "DJANGO_SETTINGS_MODULE": "kreis.settings"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def kreis(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(  # noqa: S603 (our own command)
        [KREIS, *args], env=env, capture_output=True, text=True, timeout=900, cwd=ROOT
    )
    if check:
        assert done.returncode == 0, f"kreis {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def dump(env: dict, out: Path) -> dict:
    subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", DUMP, str(out)], env=env, check=True, timeout=600, cwd=ROOT
    )
    return json.loads(out.read_text())


def assert_identical(source: dict, target: dict) -> None:
    assert sorted(source) == sorted(target)
    for table, expected in source.items():
        got = target[table]
        assert got["columns"] == expected["columns"], table
        assert len(got["rows"]) == len(expected["rows"]), table
        for before, after in zip(expected["rows"], got["rows"], strict=True):
            assert after == before, f"{table}: {before} != {after}"


# --- instances ------------------------------------------------------------------------------


def _pg(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def _pg_admin(*statements: str) -> None:
    with psycopg.connect(_pg("postgres"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _pg_fresh(postgres, name: str) -> str:
    """A new database ``name``, migrated and empty: a copy of the run's migrated template."""
    return instances.postgres_copy(postgres["factory"], _pg("postgres"), name, postgres["template"])


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    try:
        psycopg.connect(_pg("postgres"), connect_timeout=3).close()
        available = True
    except psycopg.OperationalError:
        available = False
    require(available, f"PostgreSQL at {PG_SERVER}", "start PostgreSQL (see README)")
    template = instances.migrated_postgres(tmp_path_factory, _pg("postgres"))
    yield {"factory": tmp_path_factory, "template": template}
    _pg_admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in PG_NAMES.values()))


@pytest.fixture(scope="session")
def sqlite_template(migrated_sqlite) -> Path:
    return migrated_sqlite


def _sqlite_fresh(template: Path, folder: Path) -> dict:
    return _env(instances.sqlite_instance(template, folder))


def _fill(env: dict, data: Path) -> None:
    """Demo data, odd values and two uploaded files: what a backup must carry."""
    kreis(env, "demo", "--size", "small", "--seed", "5", "--no-analytics")
    kreis(env, "shell", "-v", "0", "-c", ODD_VALUES)
    media = data / "media" / "imports" / "2026" / "12"
    media.mkdir(parents=True)
    (media / "kunden.csv").write_text("Firma;Ort\nMüller GmbH;Köln\n", encoding="cp1252")
    (media / "logo.bin").write_bytes(bytes(range(256)) * 64)


@pytest.fixture(scope="session")
def sqlite_backup(sqlite_template, tmp_path_factory):
    """A filled SQLite instance, its backup archive and its tables."""
    root = tmp_path_factory.mktemp("sqlite-source")
    env = _sqlite_fresh(sqlite_template, root / "data")
    _fill(env, root / "data")
    archive = root / "backup.zip"
    kreis(env, "backup", "--output", str(archive))
    return {"archive": archive, "tables": dump(env, root / "tables.json"), "data": root / "data"}


def _restored(env: dict, archive: Path, out: Path) -> dict:
    done = kreis(env, "restore", str(archive))
    assert "restored" in done.stdout
    return dump(env, out)


def _media(folder: Path) -> dict[str, bytes]:
    root = folder / "media"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- identical data ---------------------------------------------------------------------------


def test_sqlite_backup_restores_every_table_identically_into_sqlite(
    sqlite_backup, sqlite_template, tmp_path
):
    env = _sqlite_fresh(sqlite_template, tmp_path / "target")
    restored = _restored(env, sqlite_backup["archive"], tmp_path / "tables.json")
    assert_identical(sqlite_backup["tables"], restored)
    assert sum(len(t["rows"]) for t in restored.values()) > 5000
    assert _media(tmp_path / "target") == _media(sqlite_backup["data"])
    # The restored instance works: its search finds the odd person, and new rows get new ids.
    done = kreis(env, "shell", "-v", "0", "-c", SEARCH_AND_CREATE)
    assert done.stdout.split() == ["found", "new-id-ok"]


SEARCH_AND_CREATE = """
from kreis.core.models import User
from kreis.core.search import search_index
from kreis.parties.models import Party
from kreis.parties import services
admin = User.objects.filter(role="admin").order_by("pk").first()
hits = search_index(user=admin, text="Zoë O'Brien")
print("found" if any("Zoë" in h.title for h in hits) else "missing")
top = Party.objects.order_by("-pk").first().pk
made = services.party_create(actor=None, kind="organization", name="Nach dem Restore AG")
print("new-id-ok" if made.pk > top else "reused")
"""


def test_postgres_backup_restores_every_table_identically_into_postgres(postgres, tmp_path):
    source = _env(tmp_path / "source", _pg_fresh(postgres, PG_NAMES["src"]))
    _fill(source, tmp_path / "source")
    archive = tmp_path / "pg.zip"
    kreis(source, "backup", "--output", str(archive))
    before = dump(source, tmp_path / "source.json")
    target = _env(tmp_path / "target", _pg_fresh(postgres, PG_NAMES["dst"]))
    assert_identical(before, _restored(target, archive, tmp_path / "target.json"))
    assert _media(tmp_path / "target") == _media(tmp_path / "source")
    # Sequences were reset: the restored instance hands out ids after the restored ones.
    done = kreis(target, "shell", "-v", "0", "-c", SEARCH_AND_CREATE)
    assert done.stdout.split() == ["found", "new-id-ok"]


def test_sqlite_backup_restores_every_table_identically_into_postgres(
    sqlite_backup, postgres, tmp_path
):
    target = _env(tmp_path / "target", _pg_fresh(postgres, PG_NAMES["dst"]))
    restored = _restored(target, sqlite_backup["archive"], tmp_path / "target.json")
    assert_identical(sqlite_backup["tables"], restored)
    done = kreis(target, "shell", "-v", "0", "-c", SEARCH_AND_CREATE)
    assert done.stdout.split() == ["found", "new-id-ok"]


# --- what is refused ------------------------------------------------------------------------


def _tampered(archive: Path, out: Path, member: str, change) -> Path:
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(out, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            copy.writestr(item, change(data) if item.filename == member else data)
    return out


def test_a_tampered_archive_is_refused_and_nothing_is_written(
    sqlite_backup, sqlite_template, tmp_path
):
    env = _sqlite_fresh(sqlite_template, tmp_path / "target")
    empty = dump(env, tmp_path / "empty.json")
    bad = _tampered(
        sqlite_backup["archive"],
        tmp_path / "bad.zip",
        "data/parties_party.jsonl",
        lambda data: data.replace("Zoë".encode(), b"Zoe"),
    )
    done = kreis(env, "restore", str(bad), check=False)
    assert done.returncode != 0
    assert "checksum mismatch in data/parties_party.jsonl" in done.stderr
    assert dump(env, tmp_path / "after.json") == empty
    assert not (tmp_path / "target" / "media").exists()


def test_an_archive_with_a_file_not_in_its_manifest_is_refused(sqlite_backup, tmp_path):
    bad = tmp_path / "extra.zip"
    shutil.copy(sqlite_backup["archive"], bad)
    with zipfile.ZipFile(bad, "a") as archive:
        archive.writestr("media/../../evil.sh", "rm -rf /")
    done = kreis(_env(sqlite_backup["data"]), "restore", "--verify-only", str(bad), check=False)
    assert done.returncode != 0
    assert "do not match its manifest" in done.stderr


def test_restore_refuses_an_instance_with_data_unless_forced(
    sqlite_backup, sqlite_template, tmp_path
):
    env = _sqlite_fresh(sqlite_template, tmp_path / "target")
    kreis(env, "createuser", "--username", "anna", "--password", "x-Long-Pass-1", "--role", "admin")
    done = kreis(env, "restore", str(sqlite_backup["archive"]), check=False)
    assert done.returncode != 0
    assert "already holds data: core_user (1)" in done.stderr
    kreis(env, "restore", "--force", str(sqlite_backup["archive"]))
    assert_identical(sqlite_backup["tables"], dump(env, tmp_path / "tables.json"))


def test_manifest_names_version_schema_counts_and_checksums(sqlite_backup):
    with zipfile.ZipFile(sqlite_backup["archive"]) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["kreis_version"]
        assert manifest["schema"]["parties"].startswith("00")
        party = manifest["tables"]["parties_party"]
        assert party["rows"] == len(sqlite_backup["tables"]["parties_party"]["rows"])
        assert len(party["sha256"]) == 64
        # The two uploads, and the demo's content offer (a PDF behind a web form).
        assert {"imports/2026/12/kunden.csv", "imports/2026/12/logo.bin"} <= set(manifest["media"])
        assert any(name.startswith("offers/") for name in manifest["media"])
        # Every table of every model is in it, the many-to-many ones too.
        assert set(manifest["tables"]) == set(sqlite_backup["tables"])
        assert "parties_party_tags" in manifest["tables"]
