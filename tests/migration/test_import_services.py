"""The import services from upload to undo, through a small organisation handler
(tests/migration/org_handler.py): check, duplicates, progress counters, crash and resume,
undo, the error rows as CSV, permissions."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from kreis.migration import engine, queries, services
from kreis.migration.models import ImportJob, ImportRecord, ImportRowError, ImportStatus
from kreis.parties.models import ContactPoint, Party
from tests.migration.org_handler import OrgHandler

pytestmark = pytest.mark.django_db

MAPPING = {"Firma": "name", "E-Mail": "email", "Kundennummer": "external_id"}


@pytest.fixture
def orgs():
    saved = engine._HANDLERS.get("organization")
    handler = engine.register_handler(OrgHandler())
    yield handler
    if saved is None:
        engine._HANDLERS.pop("organization", None)
    else:
        engine._HANDLERS["organization"] = saved


def csv_bytes(rows, header=("Firma", "E-Mail", "Kundennummer")) -> bytes:
    lines = [";".join(header), *(";".join(r) for r in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def firms(n: int, start: int = 1) -> list[tuple[str, str, str]]:
    return [(f"Firma {i}", f"info{i}@firma{i}.de", f"K{i}") for i in range(start, start + n)]


def create(actor, rows, **kwargs) -> ImportJob:
    kwargs.setdefault("mapping", MAPPING)
    return services.import_create(
        actor=actor,
        upload=csv_bytes(rows),
        name="kunden.csv",
        entity="organization",
        source="cli",
        **kwargs,
    )


def run(actor, job) -> ImportJob:
    job = services.import_start(actor=actor, job=job)  # tests: the queue runs it at once
    job.refresh_from_db()
    return job


def test_upload_reads_columns_and_rows_and_keeps_the_file(alice, orgs):
    job = create(alice, firms(3))
    assert job.status == ImportStatus.UPLOADED
    assert job.headers == ["Firma", "E-Mail", "Kundennummer"]
    assert job.format == "csv"
    assert job.delimiter == ";"
    assert job.total_rows == 3
    assert len(job.file_sha256) == 64
    assert job.file.name.startswith("imports/")
    assert job.mapping == MAPPING


def test_a_bad_upload_is_refused_and_nothing_is_stored(alice, orgs, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with pytest.raises(ValidationError):
        services.import_create(
            actor=alice,
            upload=b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
            name="photo.csv",
            entity="organization",
            mapping={},
        )
    assert not ImportJob.objects.exists()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_mapping_to_an_unknown_field_or_twice_is_refused(alice, orgs):
    with pytest.raises(ValidationError) as err:
        create(alice, firms(1), mapping={"Firma": "name", "E-Mail": "name"})
    assert "both fill" in str(err.value)
    job = create(alice, firms(1))
    with pytest.raises(ValidationError):
        services.import_configure(actor=alice, job=job, mapping={"Firma": "no_such_field"})


def test_check_reports_problems_per_row_and_column_and_writes_nothing(alice, orgs):
    rows = [*firms(3), ("", "x@y.de", "K9"), ("Firma 5", "not-an-email", "K5"), firms(1)[0]]
    job = create(alice, rows)
    report = services.import_check(actor=alice, job=job)
    assert (report.total, report.valid, report.invalid) == (6, 4, 2)
    assert report.create == 3
    assert report.in_file == 1
    assert report.update == 1  # update mode: the repeat updates the first row's record
    assert [(p.row, p.column) for p in report.problems] == [(5, "Firma"), (6, "E-Mail")]
    assert [r.action for r in report.preview] == ["create"] * 3 + ["invalid"] * 2 + ["update"]
    assert not Party.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED
    assert list(job.row_errors.values_list("row", "column")) == [(5, "Firma"), (6, "E-Mail")]


def test_start_refuses_invalid_rows_unless_they_are_skipped(alice, orgs):
    job = create(alice, [*firms(2), ("", "", "K3")])
    with pytest.raises(ValidationError) as err:
        services.import_start(actor=alice, job=job)
    assert "1 rows have problems" in str(err.value)
    assert not Party.objects.exists()
    services.import_configure(actor=alice, job=job, options={"skip_invalid": True})
    job = run(alice, job)
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.failed_count, job.rows_done) == (2, 1, 3)
    assert Party.objects.count() == 2


def test_importing_the_same_file_twice_creates_nothing_the_second_time(alice, orgs):
    first = run(alice, create(alice, firms(7)))
    assert first.created_count == 7
    second = run(alice, create(alice, firms(7)))
    assert second.status == ImportStatus.DONE
    assert (second.created_count, second.updated_count, second.skipped_count) == (0, 0, 7)
    assert Party.objects.count() == 7
    assert not second.records.exists()


def test_update_mode_changes_the_match_and_undo_restores_it(alice, orgs):
    run(alice, create(alice, firms(3)))
    changed = [("Firma Eins GmbH", "info1@firma1.de", "K1"), *firms(2, start=2), *firms(1, 4)]
    job = run(alice, create(alice, changed))
    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 1, 2)
    assert Party.objects.filter(name="Firma Eins GmbH").exists()

    job = services.import_undo(actor=alice, job=job)
    assert job.status == ImportStatus.UNDONE
    assert job.undone_by == alice
    assert sorted(Party.objects.values_list("name", flat=True)) == ["Firma 1", "Firma 2", "Firma 3"]
    assert not ImportRecord.objects.filter(job=job).exists()


def test_skip_and_create_modes(alice, orgs):
    run(alice, create(alice, firms(2)))
    skipped = run(alice, create(alice, [("Neu", "info1@firma1.de", "")], duplicate_mode="skip"))
    assert (skipped.created_count, skipped.skipped_count) == (0, 1)
    created = run(alice, create(alice, [("Neu", "info1@firma1.de", "")], duplicate_mode="create"))
    assert created.created_count == 1
    assert Party.objects.count() == 3


def test_a_row_repeating_an_earlier_row_of_the_same_chunk_updates_its_record(alice, orgs):
    rows = [("Alt", "a@x.de", ""), ("Neu", "a@x.de", "")]
    job = run(alice, create(alice, rows))
    assert (job.created_count, job.updated_count) == (1, 1)
    assert list(Party.objects.values_list("name", flat=True)) == ["Neu"]
    services.import_undo(actor=alice, job=job)
    assert not Party.objects.exists()


def test_progress_counters_move_per_chunk(alice, orgs):
    job = create(alice, firms(25), options={"chunk_size": 10})
    seen = []
    services.import_start(actor=alice, job=job, background=False)
    services.import_run(job.pk, progress=lambda j: seen.append(j.rows_done))
    assert seen == [10, 20, 25]
    job.refresh_from_db()
    progress = queries.import_progress(job)
    assert progress.percent == 100.0
    assert progress.rows_done == 25
    assert progress.rows_per_second is not None
    assert progress.rows_per_second > 0


def test_a_crash_mid_import_keeps_whole_chunks_and_resume_finishes_it(alice, orgs):
    job = create(alice, firms(25), options={"chunk_size": 10})
    orgs.explode_at = 15
    job = run(alice, job)
    assert job.status == ImportStatus.FAILED
    assert "worker died" in job.error
    assert job.rows_done == 10
    assert job.created_count == 10
    assert Party.objects.count() == 10 == ImportRecord.objects.filter(job=job).count()
    assert ContactPoint.objects.count() == 10

    orgs.explode_at = None
    job = run(alice, job)  # starting again resumes after the last committed chunk
    assert job.status == ImportStatus.DONE
    assert (job.rows_done, job.created_count) == (25, 25)
    assert sorted(Party.objects.values_list("external_id", flat=True)) == sorted(
        f"K{i}" for i in range(1, 26)
    )
    services.import_undo(actor=alice, job=job)
    assert not Party.objects.exists()
    assert not ContactPoint.objects.exists()


def test_undo_of_a_failed_import_removes_what_was_committed(alice, orgs):
    job = create(alice, firms(30), options={"chunk_size": 10})
    orgs.explode_at = 25
    job = run(alice, job)
    assert job.status == ImportStatus.FAILED
    assert Party.objects.count() == 20
    job = services.import_undo(actor=alice, job=job)
    assert job.status == ImportStatus.UNDONE
    assert not Party.objects.exists()


def test_fix_a_row_then_import_it(alice, orgs):
    job = create(alice, [*firms(1), ("Firma 2", "kaputt", "K2")])
    services.import_check(actor=alice, job=job)
    problems = services.import_fix_row(actor=alice, job=job, row=3, values={"E-Mail": "also@bad"})
    assert [p.column for p in problems] == ["E-Mail"]
    problems = services.import_fix_row(
        actor=alice, job=job, row=3, values={"E-Mail": "info@firma2.de"}
    )
    assert problems == []
    job.refresh_from_db()
    assert job.check_summary["invalid"] == 0
    assert not job.row_errors.exists()
    job = run(alice, job)
    assert job.created_count == 2
    assert ContactPoint.objects.filter(value="info@firma2.de").exists()


def test_error_rows_download_as_csv_ready_to_fix(alice, orgs):
    rows = [*firms(1), ("", "=cmd|x", "K2"), ("Firma 3", "nope", "K3")]
    job = run(alice, create(alice, rows, options={"skip_invalid": True}))
    text = "".join(services.import_errors_csv(job))
    assert text.startswith("\ufeffFirma;E-Mail;Kundennummer;Error\r\n")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(lines) == 3
    assert lines[1][:3] == ["", "'=cmd|x", "K2"]  # a formula is defused, as in every export
    assert lines[1][3].startswith("Firma: A name is needed.; E-Mail: ")
    assert lines[2][:3] == ["Firma 3", "nope", "K3"]
    assert lines[2][3].startswith("E-Mail: ")
    assert ImportRowError.objects.filter(job=job).count() == 3


def test_read_only_users_cannot_import_and_others_cannot_see_an_import(
    alice, bob, rory, dana, orgs
):
    with pytest.raises(PermissionDenied):
        create(rory, firms(1))
    job = create(alice, firms(1))
    with pytest.raises(Http404):
        queries.import_get_for_user(user=bob, pk=job.pk)
    assert queries.import_get_for_user(user=dana, pk=job.pk) == job
    with pytest.raises(PermissionDenied):
        services.import_start(actor=bob, job=job)
    assert list(queries.import_list_for_user(user=bob)) == []


@pytest.fixture
def queued_jobs():
    """Jobs go to the queue (as in production), not run at once as elsewhere in the tests."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    yield
    HUEY.flush()
    HUEY.immediate = True


def test_a_running_import_whose_worker_stopped_beating_can_be_resumed(alice, orgs, queued_jobs):
    from datetime import timedelta

    from django.utils import timezone

    from kreis.core.models import WorkerHeartbeat

    job = create(alice, firms(4), options={"skip_invalid": True})
    now = timezone.now()
    beat = WorkerHeartbeat.objects.create(
        name="vm:7", hostname="vm", pid=7, started_at=now - timedelta(hours=1), beat_at=now
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, run_by="vm:7", run_started_at=now, rows_done=2
    )
    job.refresh_from_db()
    assert not services.import_is_orphaned(job)
    with pytest.raises(ValidationError, match="cannot be started"):
        services.import_start(actor=alice, job=job, background=False)
    with pytest.raises(ValidationError, match="cannot be undone"):
        services.import_undo(actor=alice, job=job, background=False)

    beat.beat_at = now - timedelta(minutes=5)  # the worker was killed
    beat.save()
    assert services.import_is_orphaned(job)
    assert queries.import_get_for_user(user=alice, pk=job.pk).status == ImportStatus.RUNNING
    job = services.import_start(actor=alice, job=job, background=False)
    assert job.status == ImportStatus.QUEUED
    services.import_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert job.rows_done == 4
    # Rows 2 and 3 were "committed" by the dead worker in this made-up state: only the rest
    # is imported on resume.
    assert sorted(Party.objects.values_list("name", flat=True)) == ["Firma 3", "Firma 4"]


def test_import_finished_is_signalled_once_the_import_is_done(
    alice, orgs, django_capture_on_commit_callbacks
):
    from kreis.migration.signals import import_finished

    finished = []

    def receiver(sender, job, **kwargs):
        finished.append((job.pk, job.status, job.created_count))

    import_finished.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = run(alice, create(alice, firms(3)))
    finally:
        import_finished.disconnect(receiver)
    assert finished == [(job.pk, "done", 3)]
