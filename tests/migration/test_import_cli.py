"""``kreis import`` and ``kreis imports`` with the engine's test handler."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kreis.migration.models import ImportJob, ImportStatus
from kreis.parties.models import Party
from tests.migration.test_import_services import MAPPING, csv_bytes, firms, orgs  # noqa: F401

pytestmark = pytest.mark.django_db


def kreis(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def files(tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))

    def write(rows, name="kunden.csv"):
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows))
        return str(path)

    write.mapping = str(mapping)
    return write


def test_import_prints_the_summary_and_a_second_run_creates_nothing(alice, orgs, files):  # noqa: F811
    path = files(firms(12))
    out = kreis(
        "import_file",
        path,
        "--type",
        "organization",
        "--mapping",
        files.mapping,
        "--user",
        "alice",
        "--chunk-size",
        "5",
    )
    assert "check: 12 rows, 12 valid, 0 invalid" in out
    assert "created 12, updated 0, merged 0, skipped 0, failed 0" in out
    assert Party.objects.filter(owner=alice).count() == 12
    out = kreis(
        "import_file", path, "--type", "organization", "--mapping", files.mapping, "--user", "alice"
    )
    assert "created 0, updated 0, merged 0, skipped 12, failed 0" in out
    assert Party.objects.count() == 12


def test_invalid_rows_stop_the_import_unless_skipped(alice, orgs, files):  # noqa: F811
    path = files([*firms(2), ("", "x@y.de", "K9")])
    with pytest.raises(CommandError, match="1 rows have problems; nothing was imported"):
        kreis("import_file", path, "--type", "organization", "--mapping", files.mapping)
    assert not Party.objects.exists()
    assert ImportJob.objects.get().status == ImportStatus.CANCELLED
    out = kreis(
        "import_file", path, "--type", "organization", "--mapping", files.mapping, "--skip-invalid"
    )
    assert "created 2" in out
    assert "row 4, Firma: A name is needed." in out


def test_dry_run_writes_nothing(orgs, files):  # noqa: F811
    path = files(firms(3))
    out = kreis(
        "import_file", path, "--type", "organization", "--mapping", files.mapping, "--dry-run"
    )
    assert "would create 3" in out
    assert not Party.objects.exists()


def test_imports_list_show_errors_and_undo(orgs, files):  # noqa: F811
    path = files([*firms(3), ("", "kaputt", "K4")])
    kreis(
        "import_file", path, "--type", "organization", "--mapping", files.mapping, "--skip-invalid"
    )
    job = ImportJob.objects.get()
    assert f"#{job.pk}" in kreis("imports", "list")
    assert "created 3" in kreis("imports", "show", str(job.pk))
    shown = json.loads(kreis("imports", "show", str(job.pk), "--json"))
    assert shown["status"] == "done"
    assert shown["failed"] == 1
    errors = kreis("imports", "errors", str(job.pk))
    assert errors.startswith("\ufeffFirma;E-Mail;Kundennummer;Error")
    assert ";kaputt;K4;" in errors
    assert "undone" in kreis("imports", "undo", str(job.pk))
    assert not Party.objects.exists()
    with pytest.raises(CommandError, match="only a failed import"):
        kreis("imports", "resume", str(job.pk))
