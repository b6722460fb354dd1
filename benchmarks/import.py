"""Importing a million persons with their organisations, and the bulk-create API.

Against a copy of the large demo (`kreis demo --size large --seed 7`: 100,000 parties), on
the database the environment names (``KREIS_DATA`` for SQLite, ``DATABASE_URL`` for
PostgreSQL), as the other benchmarks:

    .venv/bin/python benchmarks/import.py --base /path/to/large-demo-data --work /tmp/run
    DATABASE_URL=postgres://…/bench_run .venv/bin/python benchmarks/import.py \\
        --pg-template bench_large --work /tmp/run
    .venv/bin/python benchmarks/import.py --rows 20000 …      # a quick try

Phases, each in a process of its own (so each has its own peak RSS):

1. **generate** a CSV (``;``, UTF-8) of ``--rows`` persons with their organisations:
   German and English names with umlauts, phones in mixed formats (``030/1234567``,
   ``+49 (0)30 …``, ``0171-…``, ``+44 20 …``), 1 % invalid rows (bad e-mail, bad phone, no
   last name), 5 % duplicates of persons of the demo (same e-mail, no customer number).
2. **raw**: the same rows (parsed once, in memory) with ``sqlite3.executemany`` into a plain
   table with an index on the e-mail, in a temporary file: the baseline of the same run.
3. **import** through the real import engine (``kreis.migration.services``: ``import_create``,
   ``import_start``, ``import_run``) as the demo's administrator, invalid rows skipped,
   duplicates updated (``--duplicates``): validation, normalisation (e-mail, phone),
   duplicate detection against the demo's parties and within the file, organisations found
   or created, history and search entries, one transaction per chunk. On SQLite then the
   **floor**: every row the import added taken out and written again as it was, by
   ``executemany`` per table in one transaction — the database's own share, the fastest this
   schema can take these rows. Then **undo** of the whole import.
4. **API**: persons through ``POST /api/v1/persons/bulk`` and transactions with 4 lines each
   through ``POST /api/v1/transactions/bulk``, 1,000 items per request (in-process Django test
   client with a read-write API key: the server's work without the network).

Reported: rows/s (wall time), CPU seconds, peak RSS (``ru_maxrss`` of the phase's process),
the counts the import reports. The data folder / database is prepared from ``--base`` /
``--pg-template`` at the start, so each run starts from the same state.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

HEADER = ["Kundennummer", "Anrede", "Vorname", "Nachname", "E-Mail", "Telefon", "Firma",
          "Straße", "PLZ", "Ort"]  # fmt: skip
MAPPING = {
    "Kundennummer": "external_id",
    "Anrede": "salutation",
    "Vorname": "first_name",
    "Nachname": "last_name",
    "E-Mail": "email",
    "Telefon": "phone",
    "Firma": "organization",
    "Straße": "street",
    "PLZ": "postal_code",
    "Ort": "city",
}

FIRST_DE = ["Jürgen", "Jörg", "Björn", "Käthe", "Sören", "Bärbel", "Günther", "Ömer", "Jürgen",
            "Anna", "Lena", "Lukas", "Maximilian", "Sophie", "Marie", "Paul", "Felix", "Jonas",
            "Hannah", "Emilia", "Ulrike", "Dörte", "Malte", "Gesa", "Frauke", "Heiko"]  # fmt: skip
FIRST_EN = ["Oliver", "Charlotte", "James", "Amelia", "Harry", "Isla", "George", "Emily",
            "Jack", "Olivia", "Thomas", "Grace", "William", "Chloé", "Zoë", "Noël"]  # fmt: skip
LAST_DE = ["Müller", "Schröder", "Groß", "Weiß", "Köhler", "Schäfer", "Krüger", "Höfer",
           "Meyer", "Schmidt", "Wagner", "Becker", "Hoffmann", "Schulz", "Fuß", "Jäger",
           "Bräuer", "Lößner", "Öztürk", "Nußbaum", "Kühn", "Röder", "Wöhler"]  # fmt: skip
LAST_EN = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "O'Brien", "Evans", "Walker", "Robinson", "Thompson", "Wright"]  # fmt: skip
BRANCHES = ["Logistik", "Maschinenbau", "Bäckerei", "Elektrotechnik", "Gärtnerei", "Software",
            "Consulting", "Trading", "Holzbau", "Lebensmittel", "Präzisionsteile"]  # fmt: skip
FORMS = ["GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "UG (haftungsbeschränkt)", "Ltd",
         "Inc.", "LLC"]  # fmt: skip
CITIES = [("10115", "Berlin", "030"), ("80331", "München", "089"), ("50667", "Köln", "0221"),
          ("20095", "Hamburg", "040"), ("70173", "Stuttgart", "0711"),
          ("90402", "Nürnberg", "0911"), ("04109", "Leipzig", "0341"),
          ("01067", "Dresden", "0351"), ("60311", "Frankfurt am Main", "069")]  # fmt: skip
STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schloßallee", "Mühlenstraße",
           "Königsweg", "Große Gasse", "Am Bürgerpark"]  # fmt: skip
INITIALS = "ABCDEFGHIJKLMNOPRSTUVWZ"
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ë": "e", "'": ""})


def _phone(rng: random.Random, area: str) -> str:
    number = f"{rng.randint(1000000, 99999999)}"
    style = rng.randrange(8)
    if style == 0:
        return f"{area}/{number}"
    if style == 1:
        return f"+49 {area[1:]} {number}"
    if style == 2:
        return f"({area}) {number[:3]} {number[3:5]} {number[5:]}"
    if style == 3:
        return f"0049 (0){area[1:]} {number}"
    if style == 4:
        return f"0171-{number[:7]}"
    if style == 5:
        # London, 8 digits: as many numbers as the German ones. (Until 2026-12-06 04:40 UTC
        # "+44 20 7946 NNNN": 9,000 numbers for 1/8 of the rows, so most of those rows
        # repeated an earlier row's phone and were matched as duplicates within the file.)
        return f"+44 20 {rng.choice('378')}{number[-7:]:0>7}"
    if style == 6:
        return f"+49-{area[1:]}-{number}"
    return f"{area} {number}"


def generate(path: Path, rows: int, seed: int, tag: str) -> dict:
    """Write the CSV; return what it holds."""
    _django()
    from kreis.parties.models import ContactKind, ContactPoint, Party, PartyKind

    rng = random.Random(seed)  # noqa: S311 (test data)
    existing = list(
        ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, party__kind=PartyKind.PERSON
        ).values_list("value", "party__first_name", "party__last_name")[:50_000]
    )
    demo_orgs = list(
        Party.objects.filter(kind=PartyKind.ORGANIZATION).values_list("name", flat=True)[:5000]
    )
    new_orgs = [
        f"{rng.choice(LAST_DE + LAST_EN)} {rng.choice(BRANCHES)} {rng.choice(FORMS)}"
        for _ in range(max(rows // 10, 10))
    ]
    invalid = duplicates = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        for i in range(rows):
            german = rng.random() < 0.7
            # A middle initial and double names: few people share name and company by chance
            # (that would be a duplicate by the matcher's name + company rule).
            first = f"{rng.choice(FIRST_DE if german else FIRST_EN)} {rng.choice(INITIALS)}."
            last = rng.choice(LAST_DE if german else LAST_EN)
            if rng.random() < 0.3:
                last = f"{last}-{rng.choice(LAST_DE if german else LAST_EN)}"
            postal, city, area = rng.choice(CITIES)
            org = rng.choice(demo_orgs) if demo_orgs and rng.random() < 0.05 else None
            org = org or rng.choice(new_orgs)
            email = f"{first[0]}.{last}.{i}@example-{i % 97}.de".lower().translate(_ASCII)
            number = f"IMP-{tag}-{i}"
            roll = rng.random()
            if roll < 0.05 and existing:  # a person the demo has already
                email, first, last = rng.choice(existing)
                number = ""
                duplicates += 1
            elif roll < 0.06:  # invalid
                invalid += 1
                kind = rng.randrange(3)
                if kind == 0:
                    email = email.replace("@", " at ")
                elif kind == 1:
                    area = "12"
                else:
                    last = ""
            phone = _phone(rng, area) if area != "12" else "12"
            salutation = rng.choice(["Herr", "Frau", "Mr", "Ms", ""])
            street = f"{rng.choice(STREETS)} {rng.randint(1, 199)}"
            writer.writerow([number, salutation, first, last, email, phone, org, street,
                             postal, city])  # fmt: skip
    return {
        "rows": rows,
        "invalid": invalid,
        "duplicates": duplicates,
        "bytes": path.stat().st_size,
    }


def raw(path: Path) -> dict:
    """The baseline: the file's rows into a plain indexed SQLite table with executemany."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        rows = [tuple(r) for r in reader]
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(Path(folder) / "raw.sqlite3")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE person (id INTEGER PRIMARY KEY, number TEXT, salutation TEXT, "
            "first_name TEXT, last_name TEXT, email TEXT, phone TEXT, organization TEXT, "
            "street TEXT, postal_code TEXT, city TEXT)"
        )
        db.execute("CREATE INDEX person_email ON person (email)")
        start, cpu = time.perf_counter(), time.process_time()
        db.executemany(
            "INSERT INTO person (number, salutation, first_name, last_name, email, phone, "
            "organization, street, postal_code, city) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.commit()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        db.close()
    return {"rows": len(rows), "seconds": wall, "cpu": cpu}


def engine(path: Path, duplicates: str, undo: bool = True) -> dict:
    """The import through kreis.migration, then (``undo``) its undo."""
    _django()
    from django.db import connection

    from kreis.core.models import User
    from kreis.migration import services
    from kreis.migration.models import ImportRecord, ImportSource

    admin = User.objects.get(username="admin")
    before = _rowids() if connection.vendor == "sqlite" else None
    start = time.perf_counter()
    with path.open("rb") as upload:
        job = services.import_create(
            actor=admin,
            upload=upload,
            name=path.name,
            entity="person",
            source=ImportSource.CLI,
            mapping=MAPPING,
            duplicate_mode=duplicates,
            options={"skip_invalid": True},
        )
    created_at = time.perf_counter() - start
    services.import_start(actor=admin, job=job, background=False)
    server = _server_cpu()
    start, cpu = time.perf_counter(), time.process_time()
    services.import_run(job.pk)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = _server_cpu()
    server = after[1] - server[1] if server and after and after[0] == server[0] else None
    job.refresh_from_db()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "status": job.status,
        "error": job.error,
        "rows": job.total_rows,
        "upload_seconds": created_at,
        "seconds": wall,
        "cpu": cpu,
        "server_cpu": server,
        "peak_mb": peak,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "failed": job.failed_count,
        "records": ImportRecord.objects.filter(job=job).count(),
    }
    if before is not None:
        result["floor"] = floor(before)
    if not undo:
        result["undo_status"], result["undo_seconds"] = "not run (--skip undo)", 0.0
        return result
    start, cpu = time.perf_counter(), time.process_time()
    try:
        job = services.import_undo(actor=admin, job=job, background=False)
        result["undo_status"] = job.status
    except Exception as exc:  # reported with the figures
        result["undo_status"] = f"failed: {type(exc).__name__}: {exc}"
    result["undo_seconds"] = time.perf_counter() - start
    result["undo_cpu"] = time.process_time() - cpu
    return result


def _sqlite_file() -> str:
    from django.db import connection

    return connection.settings_dict["NAME"]


def _rowids() -> dict[str, int]:
    """The highest rowid of every ordinary table of the SQLite database (FTS5's own tables
    left out: they follow ``core_searchentry``)."""
    db = sqlite3.connect(_sqlite_file())
    try:
        names = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'core_searchentry_fts%' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            )
        ]
        return {
            name: db.execute(f'SELECT COALESCE(MAX(rowid), 0) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in names
        }
    finally:
        db.close()


def floor(before: dict[str, int]) -> dict:
    """The database's own share of the import (SQLite): every row the import added, in every
    table, taken out and written again exactly as it was — ``executemany`` per table, foreign
    keys checked, the search index's FTS rows in one statement (as ``insert_entries`` does) —
    in one transaction. No Python work but the calls: the fastest this schema can take the
    rows the issue asks for (party, contact points, address, employment, history, search
    entry, undo record). The rows stay as they were, so the undo after it is unchanged."""
    from django.db import connection

    connection.close()
    db = sqlite3.connect(_sqlite_file(), isolation_level=None)
    try:
        added = {}
        for name, last in before.items():
            rows = db.execute(f'SELECT * FROM "{name}" WHERE rowid > ?', (last,)).fetchall()  # noqa: S608
            if rows:
                added[name] = rows
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("BEGIN IMMEDIATE")
        for name in added:
            db.execute(f'DELETE FROM "{name}" WHERE rowid > ?', (before[name],))  # noqa: S608
        db.execute("COMMIT")
        db.execute("PRAGMA foreign_keys = ON")
        tables = {}
        start, cpu = time.perf_counter(), time.process_time()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO core_searchfts_deferred (deferred) VALUES (1)")
        for name, rows in added.items():
            table_cpu = time.process_time()
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)  # noqa: S608
            tables[name] = [len(rows), time.process_time() - table_cpu]
        db.execute("DELETE FROM core_searchfts_deferred")
        table_cpu = time.process_time()
        db.execute(
            "INSERT INTO core_searchentry_fts (rowid, text) SELECT id, text FROM core_searchentry "
            "WHERE id > ?",
            (before.get("core_searchentry", 0),),
        )
        tables["core_searchentry_fts"] = [len(added.get("core_searchentry", [])),
                                          time.process_time() - table_cpu]  # fmt: skip
        db.execute("COMMIT")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        db.close()
    return {"seconds": wall, "cpu": cpu, "rows": sum(len(r) for r in added.values()),
            "tables": tables}  # fmt: skip


def _server_cpu() -> tuple[int, float] | None:
    """The PostgreSQL backend of this connection and its CPU seconds so far (a server on this
    machine: its /proc entry), else None; the import's COPYs and index upkeep run there."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api(rows: int, lines: int, tag: str, seed: int) -> dict:
    """Persons and transactions through the bulk-create API, 1,000 items per request."""
    _django()
    from django.test import Client

    from kreis.commerce.models import Product
    from kreis.core.models import User
    from kreis.core.services import apikey_create
    from kreis.parties.models import Party, PartyKind

    rng = random.Random(seed)  # noqa: S311 (test data)
    admin = User.objects.get(username="admin")
    _key, raw_key = apikey_create(actor=admin, user=admin, name=f"bench {tag}", scope="read_write")
    client = Client(HTTP_HOST="localhost")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    org_ids = list(
        Party.objects.filter(kind=PartyKind.ORGANIZATION).values_list("pk", flat=True)[:5000]
    )
    party_ids = list(Party.objects.values_list("pk", flat=True)[:20000])
    skus = list(Product.objects.filter(is_active=True).values_list("sku", flat=True))

    def person(i: int) -> dict:
        first, last = rng.choice(FIRST_DE + FIRST_EN), rng.choice(LAST_DE + LAST_EN)
        postal, city, area = rng.choice(CITIES)
        return {
            "first_name": first,
            "last_name": last,
            "external_id": f"API-{tag}-{i}",
            "emails": [{"value": f"{first}.{last}.{i}@api-{tag}.de".lower().translate(_ASCII)}],
            "phones": [{"value": _phone(rng, area)}],
            "addresses": [{"street": "Hauptstraße 1", "postal_code": postal, "city": city}],
            "organization_id": rng.choice(org_ids),
            "position": "Einkauf",
        }

    def order(i: int) -> dict:
        return {
            "kind": "order",
            "party_id": rng.choice(party_ids),
            "date": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
            "external_id": f"API-{tag}-T{i}",
            "lines": [
                {"sku": rng.choice(skus), "quantity": str(rng.randint(1, 9))} for _ in range(lines)
            ],
        }

    def measure(path: str, make, requests: int) -> dict:
        bodies = [
            json.dumps({"items": [make(r * 1000 + j) for j in range(1000)]})
            for r in range(requests + 1)
        ]
        response = client.post(path, bodies[0], content_type="application/json", **headers)
        _check(response)  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        for body in bodies[1:]:
            response = client.post(path, body, content_type="application/json", **headers)
            _check(response)
        return {
            "items": requests * 1000,
            "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
        }

    requests = max(rows // 1000, 1)
    persons = measure("/api/v1/persons/bulk", person, requests)
    transactions = measure("/api/v1/transactions/bulk", order, requests)
    transactions["lines"] = transactions["items"] * lines
    return {"persons": persons, "transactions": transactions}


def _check(response) -> None:
    if response.status_code != 201:
        raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)  # the request log of the API phase


# --- the parent: prepare, run the phases, print ----------------------------------------------


def _phase(name: str, *args: str) -> dict:
    out = subprocess.run(  # noqa: S603 (this script, fixed arguments)
        [sys.executable, __file__, "--phase", name, *args],
        check=False,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if out.returncode:
        sys.exit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepare(args) -> str:
    if os.environ.get("DATABASE_URL"):
        url = urlparse(os.environ["DATABASE_URL"])
        name = url.path.lstrip("/")
        if args.pg_template:
            common = ["-h", url.hostname or "127.0.0.1", "-U", url.username or "postgres"]
            for command in (
                ["dropdb", *common, "--if-exists", name],
                ["createdb", *common, "-T", args.pg_template, name],
            ):
                subprocess.run(command, check=True)  # noqa: S603, S607 (PostgreSQL's tools)
        return f"PostgreSQL ({name}" + (
            f", copy of {args.pg_template})" if args.pg_template else ")"
        )
    data = Path(os.environ.get("KREIS_DATA") or args.work / "data")
    if args.base:  # a fresh copy in the work folder (never over KREIS_DATA)
        data = args.work / "data"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(args.base, data)
    os.environ["KREIS_DATA"] = str(data)
    return f"SQLite ({data}" + (f", copy of {args.base})" if args.base else ")")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kreis-import")
    parser.add_argument("--base", type=Path, help="SQLite: copy this data folder first")
    parser.add_argument("--pg-template", help="PostgreSQL: create the database from this one")
    parser.add_argument("--api-rows", type=int, default=20_000, help="items per API figure")
    parser.add_argument("--lines", type=int, default=4, help="lines per API transaction")
    parser.add_argument(
        "--duplicates", default="update", choices=["update", "skip", "create", "merge"]
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["raw", "import", "undo", "api"])
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tag", default=f"{int(time.time()) % 1_000_000:x}", help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    path = args.work / f"persons-{args.rows}.csv"
    if args.phase:
        result = {
            "generate": lambda: generate(path, args.rows, args.seed, args.tag),
            "raw": lambda: raw(path),
            "import": lambda: engine(path, args.duplicates, undo="undo" not in args.skip),
            "api": lambda: api(args.api_rows, args.lines, args.tag, args.seed),
        }[args.phase]()
        print(json.dumps(result, default=str))
        return 0

    args.work.mkdir(parents=True, exist_ok=True)
    where = _prepare(args)
    # The copy may predate the newest migrations.
    kreis = Path(sys.executable).with_name("kreis")
    subprocess.run([str(kreis), "migrate", "-v0"], check=True, env=os.environ)  # noqa: S603
    print(f"{where}; {args.rows:,} rows; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    common = [
        *("--rows", str(args.rows), "--seed", str(args.seed), "--work", str(args.work)),
        *("--tag", args.tag, "--api-rows", str(args.api_rows), "--lines", str(args.lines)),
        *("--duplicates", args.duplicates),
        *(["--skip", *args.skip] if args.skip else []),
    ]
    made = _phase("generate", *common)
    print(
        f"CSV {path}: {made['bytes'] / 1e6:.1f} MB, {made['rows']:,} rows, "
        f"{made['invalid']:,} invalid, {made['duplicates']:,} duplicates of demo persons"
    )
    if "raw" not in args.skip:
        base = _phase("raw", *common)
        rate = base["rows"] / base["seconds"]
        print(
            f"raw sqlite3 executemany (indexed table): {base['seconds']:.1f} s, {rate:,.0f} rows/s"
        )
    if "import" not in args.skip:
        r = _phase("import", *common)
        rate = r["rows"] / r["seconds"]
        print(
            f"import ({r['status']}{': ' + r['error'] if r['error'] else ''}): "
            f"{r['seconds']:.1f} s wall, {r['cpu']:.1f} s CPU"
            + (f" + {r['server_cpu']:.1f} s server CPU" if r.get("server_cpu") is not None else "")
            + f", {rate:,.0f} rows/s"
            + (
                f" = {rate / (base['rows'] / base['seconds']):.1%} of raw"
                if "raw" not in args.skip
                else ""
            )
            + f", {r['rows'] / r['cpu']:,.0f} rows per CPU second of the process"
            + f"; peak RSS {r['peak_mb']:,.0f} MB; upload+count {r['upload_seconds']:.1f} s"
        )
        print(
            f"  created {r['created']:,}, updated {r['updated']:,}, skipped {r['skipped']:,}, "
            f"failed {r['failed']:,}; {r['records']:,} undo records"
        )
        if r.get("floor"):
            f = r["floor"]
            print(
                f"floor — the same {f['rows']:,} table rows written again with no Python work: "
                f"{f['seconds']:.1f} s wall, {f['cpu']:.1f} s CPU = "
                f"{r['rows'] / f['seconds']:,.0f} input rows/s"
                + (
                    f" = {r['rows'] / f['seconds'] / (base['rows'] / base['seconds']):.1%} of raw"
                    if "raw" not in args.skip
                    else ""
                )
            )
            for name, (count, seconds) in sorted(f["tables"].items(), key=lambda t: -t[1][1]):
                print(f"    {name:36} {count:>10,} rows {seconds:6.2f} s CPU")
        if "undo" not in args.skip:
            print(
                f"undo of the whole import: {r['undo_seconds']:.1f} s wall, "
                f"{r['undo_cpu']:.1f} s CPU = {r['records'] / r['undo_seconds']:,.0f} records/s "
                f"({r['undo_status']})"
            )
    if "api" not in args.skip:
        a = _phase("api", *common)
        p, t = a["persons"], a["transactions"]
        print(
            f"API persons/bulk: {p['items']:,} in {p['seconds']:.1f} s = "
            f"{p['items'] / p['seconds']:,.0f} persons/s ({p['cpu']:.1f} s CPU)"
        )
        print(
            f"API transactions/bulk: {t['items']:,} transactions, {t['lines']:,} lines in "
            f"{t['seconds']:.1f} s = {t['lines'] / t['seconds']:,.0f} lines/s, "
            f"{t['items'] / t['seconds']:,.0f} transactions/s ({t['cpu']:.1f} s CPU)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
