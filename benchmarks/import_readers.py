"""Reading import files: rows/s and peak memory of ``open_table``, and how fast unsafe files
are refused.

    .venv/bin/python benchmarks/import_readers.py [--rows 1000000] [--xlsx-rows 100000]

Writes its files to a temporary folder. Each reading step runs in a fresh child process, so
its peak RSS (``ru_maxrss``) is its own; the baseline is the bare ``csv.reader`` over the
same file in the same child (the floor any CSV reader in Python stands on). The XLSX figure
includes the zip-bomb and defusedxml checks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

FIRST = ["Jürgen", "Anna", "Björn", "Sören", "Michael", "Özlem", "Chloé", "John", "Grete", "Emily"]
LAST = ["Müller", "Schäfer", "Smith", "Weiß", "Groß", "Becker", "O'Neil", "Krüger", "Jones"]
CITIES = ["München", "Köln", "Düsseldorf", "Berlin", "Hamburg", "Nürnberg", "London", "Zürich"]


def write_csv(path: Path, rows: int) -> None:
    rnd = random.Random(7)  # noqa: S311 (test data)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("Vorname;Nachname;E-Mail;Telefon;Firma;Straße;PLZ;Ort;Umsatz\n")
        for i in range(rows):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            f.write(
                f"{first};{last};{first[0].lower()}{i}@x.de;089 {rnd.randint(1000000, 9999999)};"
                f"{last} GmbH;Hauptstr. {i % 200};{rnd.randint(10000, 99999)};"
                f"{rnd.choice(CITIES)};{rnd.randint(0, 9999)},{rnd.randint(0, 99):02d}\n"
            )


def write_xlsx(path: Path, rows: int) -> None:
    import datetime as dt

    import openpyxl

    rnd = random.Random(7)  # noqa: S311 (test data)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Kontakte")
    sheet.append(["Vorname", "Nachname", "E-Mail", "Firma", "PLZ", "Ort", "Umsatz", "Seit"])
    for i in range(rows):
        sheet.append(
            [
                rnd.choice(FIRST),
                rnd.choice(LAST),
                f"p{i}@x.de",
                f"{rnd.choice(LAST)} GmbH",
                rnd.randint(10000, 99999),
                rnd.choice(CITIES),
                round(rnd.uniform(0, 99999), 2),
                dt.date(2020, 1, 1) + dt.timedelta(days=i % 1500),
            ]
        )
    book.save(path)


def child(kind: str, path: str) -> None:
    """Runs in a fresh process: read the file, print one JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    import django

    django.setup()
    from kreis.migration.readers import open_table

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result: dict = {"kind": kind, "rss_django_mb": round(before / 1024)}
    if kind == "csv-baseline":
        import csv

        start = time.perf_counter()
        with open(path, encoding="utf-8", newline="") as f:
            n = sum(1 for _row in csv.reader(f, delimiter=";")) - 1
        result.update(rows=n, seconds=time.perf_counter() - start)
    else:
        start = time.perf_counter()
        table = open_table(path, max_bytes=1 << 31)
        opened = time.perf_counter()
        n = sum(1 for _row in table.rows())
        done = time.perf_counter()
        counted = table.count_rows()
        result.update(
            rows=n,
            open_seconds=opened - start,
            seconds=done - opened,
            count_seconds=time.perf_counter() - done,
            counted=counted,
            encoding=table.encoding,
        )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def run_child(kind: str, path: Path) -> dict:
    out = subprocess.run(  # noqa: S603 (this script, fixed arguments)
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "KREIS_DATA": os.environ.get("KREIS_DATA", tempfile.mkdtemp())},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bombs(folder: Path) -> list[tuple[str, float, str]]:
    """Seconds until each unsafe workbook is refused (best of 3)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_DATA", tempfile.mkdtemp())
    import django

    django.setup()
    from django.core.exceptions import ValidationError

    sys.path.insert(0, str(ROOT))
    from tests.migration.test_readers import (
        LAUGHS,
        WORKBOOK,
        deflated,
        member,
        raw_zip,
        with_part,
        zeros_deflated,
    )

    from kreis.migration.readers import open_table

    stream, crc = zeros_deflated(1000)
    cases = {
        "declares 3.75 GB (4 KB file)": raw_zip(
            [
                member("xl/workbook.xml", WORKBOOK),
                ("xl/worksheets/sheet1.xml", deflated(b" " * 1000), 8, 0, 0xF0000000),
            ]
        ),
        "1 GB of spaces in 1 MB, honest sizes": raw_zip(
            [
                member("xl/workbook.xml", WORKBOOK),
                ("xl/worksheets/sheet1.xml", stream, 8, crc, 1000 << 20),
            ]
        ),
        "1 GB of spaces in 1 MB, says 1 KB": raw_zip(
            [member("xl/workbook.xml", WORKBOOK), ("xl/worksheets/sheet1.xml", stream, 8, 0, 1024)]
        ),
        "billion laughs in sharedStrings.xml": with_part("xl/sharedStrings.xml", LAUGHS),
    }
    results = []
    for name, data in cases.items():
        path = folder / "bomb.xlsx"
        path.write_bytes(data)
        best, code = float("inf"), ""
        for _i in range(3):
            start = time.perf_counter()
            try:
                open_table(path)
            except ValidationError as exc:
                code = exc.code or ""
            best = min(best, time.perf_counter() - start)
        results.append((name, best, code))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, xlsx_path = folder / "persons.csv", folder / "persons.xlsx"
        write_csv(csv_path, args.rows)
        write_xlsx(xlsx_path, args.xlsx_rows)
        mb = csv_path.stat().st_size / 1e6
        print(
            f"CSV: {args.rows:,} rows, {mb:.1f} MB; XLSX: {args.xlsx_rows:,} rows, "
            f"{xlsx_path.stat().st_size / 1e6:.1f} MB"
        )
        print("| step | rows | s | rows/s | peak RSS MB (Django alone) |")
        print("|---|---:|---:|---:|---:|")
        for kind, path in (("csv-baseline", csv_path), ("csv", csv_path), ("xlsx", xlsx_path)):
            r = run_child(kind, path)
            label = {
                "csv-baseline": "baseline: bare csv.reader",
                "csv": "open_table(CSV).rows()",
                "xlsx": "open_table(XLSX).rows()",
            }[kind]
            print(
                f"| {label} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows'] / r['seconds']:,.0f} "
                f"| {r['peak_rss_mb']} ({r['rss_django_mb']}) |"
            )
            if kind != "csv-baseline":
                print(
                    f"| … open (detect, checks) / count_rows() | | {r['open_seconds']:.2f} / "
                    f"{r['count_seconds']:.2f} | | |"
                )
        print()
        print("| unsafe workbook | refused after s | code |")
        print("|---|---:|---|")
        for name, seconds, code in bombs(folder):
            print(f"| {name} | {seconds:.3f} | {code} |")


if __name__ == "__main__":
    main()
