"""The import's check (dry run) as a job (issue 11, items 3 and 5): it reports its progress
per chunk like the import, stores its report, can be cancelled and started again when its
worker died; the wizard shows the progress bar and then the report; the API answers 202 and
serves the report when done.

Elsewhere the tests run jobs at once; here, as in production, the check goes to the queue
(``queued_jobs``: nothing is enqueued before the test's transaction commits, which it never
does) and the test does the worker's part by calling ``import_check_run`` itself."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kreis.core.models import WorkerHeartbeat
from kreis.migration import checks, engine, queries, services
from kreis.migration.models import ImportJob, ImportRowError, ImportStatus
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.migration.test_import_services import (  # noqa: F401  (queued_jobs: fixtures)
    create,
    firms,
    orgs,
    queued_jobs,
)
from tests.migration.test_wizard_pages import (
    BAD_EMAIL_ROW,
    BAD_PHONE_ROW,
    GOOD_ROWS,
    ROWS,
    mapping_post,
    upload,
)

# The organisation handler of the service tests, for the files made with ``create``.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("orgs")]

BAD = ("Firma X", "kaputt", "KX")


@pytest.fixture(autouse=True)
def _real_handlers_loaded():
    """The real organisation handler registered before ``orgs`` swaps it out, so that ``orgs``
    puts it back afterwards (the wizard tests here load it with the persons' handler; popped,
    it would be gone for later test modules)."""
    engine.handler_for("organization")


@pytest.fixture
def worker_alive():
    """A job worker whose heartbeat is fresh (started an hour ago)."""
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        name="vm:7", hostname="vm", pid=7, started_at=now - timedelta(hours=1), beat_at=now
    )


@pytest.fixture
def check_as_job(settings, queued_jobs, worker_alive):  # noqa: F811
    """Every file, however small, is checked as a job (production checks up to 1,000 rows
    at once)."""
    settings.KREIS_IMPORT_CHECK_AT_ONCE = 0
    return worker_alive


def rows_with_problems(n: int, bad_at: tuple[int, ...]) -> list[tuple[str, str, str]]:
    rows = firms(n)
    for index in bad_at:
        rows[index] = BAD
    return rows


# --- the service and the worker's part ---------------------------------------------------


def test_a_check_runs_as_a_job_and_reports_its_progress_per_chunk(
    alice, check_as_job, django_capture_on_commit_callbacks
):
    job = create(alice, rows_with_problems(25, (3, 17)), options={"chunk_size": 10})
    with django_capture_on_commit_callbacks() as queued:
        job = services.import_check_start(actor=alice, job=job)
    assert len(queued) == 1  # handed to the job queue once the transaction commits
    assert job.status == ImportStatus.CHECKING
    assert job.check_started_at is None  # waiting for a worker
    assert queries.import_progress(job).rows_done == 0

    seen = []

    def progress(checking: ImportJob) -> None:
        stored = ImportJob.objects.get(pk=checking.pk)
        p = queries.import_progress(stored)
        seen.append((stored.rows_checked, p.percent, stored.row_errors.count()))
        assert stored.status == ImportStatus.CHECKING
        assert p.rows_per_second is not None
        assert p.rows_per_second > 0
        assert p.expected_end is not None

    job = checks.import_check_run(job.pk, progress=progress)
    assert seen == [(10, 40.0, 1), (20, 80.0, 2), (25, 100.0, 2)]
    assert job.status == ImportStatus.VALIDATED
    assert (job.check_summary["valid"], job.check_summary["invalid"]) == (23, 2)
    report = services.import_check_report(job)
    assert [(p.row, p.column) for p in report.problems] == [(5, "E-Mail"), (19, "E-Mail")]
    assert len(report.preview) == 20
    assert report.preview[3].action == "invalid"
    assert not Party.objects.exists()  # a check writes no records
    # A second run for the same check finds nothing to claim.
    assert checks.import_check_run(job.pk) is None


def test_a_small_file_is_checked_at_once_and_a_big_one_needs_a_worker(
    alice,
    settings,
    queued_jobs,  # noqa: F811
):
    settings.KREIS_IMPORT_CHECK_AT_ONCE = 5
    small = services.import_check_start(actor=alice, job=create(alice, firms(5)))
    assert small.status == ImportStatus.VALIDATED
    big = create(alice, firms(6))
    with pytest.raises(ValidationError) as err:  # no worker is running
        services.import_check_start(actor=alice, job=big)
    assert err.value.code == "no_worker"
    big.refresh_from_db()
    assert big.status == ImportStatus.UPLOADED


def test_starting_a_big_unchecked_import_asks_for_the_check_job_first(alice, api_key_for, settings):
    settings.KREIS_IMPORT_CHECK_AT_ONCE = 2
    job = create(alice, firms(3))
    with pytest.raises(ValidationError) as err:  # the request would wait for the check
        services.import_start(actor=alice, job=job)
    assert err.value.code == "not_checked"
    assert "3 rows" in err.value.messages[0]
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED
    client, key = client_for(alice), api_key_for(alice)
    refused = api(client, key, "post", f"/imports/{job.pk}/start")
    assert refused.status_code == 422
    assert not Party.objects.exists()
    # Checked (a job, run at once here), it starts; so does a start that checks in-process.
    services.import_check_start(actor=alice, job=job)
    assert services.import_start(actor=alice, job=job).status == ImportStatus.DONE
    other = create(alice, firms(3, start=4))
    services.import_start(actor=alice, job=other, background=False)
    other.refresh_from_db()
    assert (other.status, other.check_summary["valid"]) == (ImportStatus.QUEUED, 3)


def test_cancelling_a_running_check_stops_it_without_writing(alice, check_as_job):
    job = create(alice, rows_with_problems(30, (1, 25)), options={"chunk_size": 10})
    job = services.import_check_start(actor=alice, job=job)
    chunks_seen = []

    def cancel_after_the_first_chunk(checking: ImportJob) -> None:
        chunks_seen.append(checking.rows_checked)
        if len(chunks_seen) == 1:
            services.import_check_cancel(actor=alice, job=checking)

    job = checks.import_check_run(job.pk, progress=cancel_after_the_first_chunk)
    assert chunks_seen == [10]  # the run noticed at its next chunk and stopped
    assert job.status == ImportStatus.UPLOADED
    assert (job.rows_checked, job.check_summary, job.check_preview) == (0, {}, [])
    assert not ImportRowError.objects.filter(job=job).exists()
    with pytest.raises(ValidationError, match="No check is running"):
        services.import_check_cancel(actor=alice, job=job)
    # The mapping may change again, and the check start anew.
    services.import_configure(actor=alice, job=job, duplicate_mode="skip")
    job = services.import_check_start(actor=alice, job=job, background=False)
    assert (job.status, job.check_summary["invalid"]) == (ImportStatus.VALIDATED, 2)


def test_the_import_waits_for_the_check_and_settings_are_fixed_meanwhile(alice, bob, check_as_job):
    job = services.import_check_start(actor=alice, job=create(alice, firms(3)))
    with pytest.raises(ValidationError, match="cannot be started"):
        services.import_start(actor=alice, job=job)
    with pytest.raises(ValidationError, match="cancel the check first"):
        services.import_configure(actor=alice, job=job, duplicate_mode="skip")
    with pytest.raises(ValidationError, match="cancel the check first"):
        services.import_fix_row(actor=alice, job=job, row=2, values={"E-Mail": "a@b.de"})
    with pytest.raises(ValidationError, match="still running"):
        services.import_check_report(job)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.import_check_cancel(actor=bob, job=job)
    assert not Party.objects.exists()


def test_a_check_whose_worker_died_can_be_started_again(alice, check_as_job):
    job = create(alice, rows_with_problems(12, (0,)), options={"chunk_size": 5})
    job = services.import_check_start(actor=alice, job=job)
    # The worker "vm:7" claimed it, stored the problems of its first chunk, and died.
    claimed = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        check_started_at=claimed, run_by="vm:7", rows_checked=5
    )
    ImportRowError.objects.create(job=job, row=2, column="E-Mail", message="old")
    job.refresh_from_db()
    assert not services.import_check_is_orphaned(job)
    with pytest.raises(ValidationError, match="cannot be checked again"):
        services.import_check_start(actor=alice, job=job)

    check_as_job.beat_at = timezone.now() - timedelta(minutes=5)  # killed
    check_as_job.save()
    assert services.import_check_is_orphaned(job)
    job = services.import_check_start(actor=alice, job=job, background=False)
    assert job.status == ImportStatus.VALIDATED
    assert job.rows_checked == 12
    assert list(job.row_errors.values_list("row", "message")) == [
        (2, ImportRowError.objects.get(job=job).message)
    ]
    assert ImportRowError.objects.get(job=job).message != "old"
    # The dead run, were it to come back, no longer owns the check: it writes nothing.
    stale = ImportJob.objects.get(pk=job.pk)
    stale.check_started_at = claimed
    with pytest.raises(checks.CheckLost):
        checks._commit_chunk(stale, [], checks.ChunkResult(), rows=5)


def test_a_check_that_fails_says_why_and_can_run_again(alice, check_as_job):
    job = services.import_check_start(actor=alice, job=create(alice, firms(4)))
    stored = job.file.path
    content = open(stored, "rb").read()  # noqa: PTH123, SIM115
    open(stored, "wb").close()  # noqa: PTH123, SIM115  (the stored copy is lost: empty)
    job = checks.import_check_run(job.pk)
    assert job.status == ImportStatus.UPLOADED
    assert job.error
    with open(stored, "wb") as restored:  # noqa: PTH123
        restored.write(content)
    job = services.import_check_start(actor=alice, job=job, background=False)
    assert (job.status, job.error) == (ImportStatus.VALIDATED, "")


# --- the wizard ---------------------------------------------------------------------------


def test_the_check_page_shows_the_progress_bar_then_the_report(alice, check_as_job):
    client = client_for(alice)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(options={"chunk_size": 4})
    response = mapping_post(client, job)
    assert response["Location"] == f"/imports/{job.pk}/check/"
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKING

    page = client.get(f"/imports/{job.pk}/check/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-testid="check-progress"' in html
    assert 'data-testid="progress-bar"' in html
    assert "waiting for the job worker" in html
    assert 'data-testid="bad-row"' not in html
    assert client.get(f"/imports/{job.pk}/mapping/")["Location"] == f"/imports/{job.pk}/check/"

    polls = []

    def poll(checking: ImportJob) -> None:
        partial = client.get(
            f"/imports/{job.pk}/check/", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="de"
        )
        polls.append(partial.content.decode())

    checks.import_check_run(job.pk, progress=poll)
    assert f'value="4" max="{len(ROWS)}"' in polls[0]
    assert "Zeilen/s" in polls[0]
    assert 'hx-trigger="every 2s"' in polls[0]

    done = client.get(f"/imports/{job.pk}/check/", HTTP_HX_REQUEST="true")
    assert (done.status_code, done["HX-Refresh"]) == (204, "true")
    page = client.get(f"/imports/{job.pk}/check/", HTTP_ACCEPT_LANGUAGE="en")
    assert [b["row"] for b in page.context["bad_rows"]] == [BAD_EMAIL_ROW, BAD_PHONE_ROW]
    assert (page.context["check"].valid, page.context["check"].invalid) == (GOOD_ROWS, 2)
    assert "Björn" in page.content.decode()  # the stored preview
    assert 'data-testid="check-progress"' not in page.content.decode()


def test_the_wizard_cancels_a_running_check_and_starts_it_again(alice, check_as_job):
    client = client_for(alice)
    upload(client)
    job = ImportJob.objects.get()
    mapping_post(client, job)
    response = client.post(f"/imports/{job.pk}/check/cancel/")
    assert response["Location"] == f"/imports/{job.pk}/check/"
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED
    page = client.get(f"/imports/{job.pk}/check/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-testid="start-check"' in html
    assert "have not been checked yet" in html
    assert client.get(f"/imports/{job.pk}/mapping/").status_code == 200

    assert client.post(f"/imports/{job.pk}/check/").status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKING
    checks.import_check_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED
    assert not Party.objects.exists()


def test_only_the_importer_follows_or_cancels_the_check(alice, charlie, check_as_job):
    client = client_for(alice)
    upload(client)
    job = ImportJob.objects.get()
    mapping_post(client, job)
    other = client_for(charlie)
    assert other.get(f"/imports/{job.pk}/check/", HTTP_HX_REQUEST="true").status_code == 404
    assert other.post(f"/imports/{job.pk}/check/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKING


# --- the API ------------------------------------------------------------------------------


def api(client, key, method, path, body=None):
    return getattr(client, method)(
        f"/api/v1{path}",
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def test_api_check_answers_202_shows_progress_and_then_the_report(alice, api_key_for, check_as_job):
    client, key = client_for(alice), api_key_for(alice)
    job = create(alice, rows_with_problems(12, (2,)), options={"chunk_size": 5})
    started = api(client, key, "post", f"/imports/{job.pk}/check?preview_rows=3")
    assert started.status_code == 202, started.content
    assert (started.json()["status"], started.json()["rows_checked"]) == ("checking", 0)
    refused = api(client, key, "get", f"/imports/{job.pk}/check")
    assert refused.status_code == 409
    assert "still running" in refused.json()["detail"]

    followed = []

    def follow(checking: ImportJob) -> None:
        followed.append(api(client, key, "get", f"/imports/{job.pk}").json())

    checks.import_check_run(job.pk, preview_limit=3, progress=follow)
    assert [f["rows_checked"] for f in followed] == [5, 10, 12]
    assert followed[0]["status"] == "checking"
    assert followed[0]["progress"]["percent"] == pytest.approx(41.7)
    assert followed[0]["progress"]["rows_per_second"] > 0
    assert followed[0]["progress"]["expected_end"] is not None

    detail = api(client, key, "get", f"/imports/{job.pk}").json()
    assert (detail["status"], detail["check"]["invalid"]) == ("validated", 1)
    report = api(client, key, "get", f"/imports/{job.pk}/check")
    assert report.status_code == 200
    body = report.json()
    assert (body["total"], body["valid"], body["invalid"]) == (12, 11, 1)
    assert body["problems"] == [
        {"row": 4, "column": "E-Mail", "message": body["problems"][0]["message"]}
    ]
    assert [r["action"] for r in body["preview"]] == ["create", "create", "invalid"]
    assert body["preview"][2]["problems"][0]["column"] == "E-Mail"


def test_api_cancels_a_check_and_says_503_without_a_worker(alice, api_key_for, check_as_job):
    client, key = client_for(alice), api_key_for(alice)
    job = create(alice, firms(3))
    assert api(client, key, "post", f"/imports/{job.pk}/check").status_code == 202
    cancelled = api(client, key, "post", f"/imports/{job.pk}/check/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "uploaded")
    assert api(client, key, "post", f"/imports/{job.pk}/check/cancel").status_code == 422
    assert api(client, key, "get", f"/imports/{job.pk}/check").status_code == 409

    check_as_job.delete()  # no worker any more
    refused = api(client, key, "post", f"/imports/{job.pk}/check")
    assert refused.status_code == 503
    assert "No job worker" in refused.json()["detail"]
    job.refresh_from_db()
    assert job.status == ImportStatus.UPLOADED


def test_api_check_of_another_users_import_is_404(alice, bob, api_key_for, check_as_job):
    job = create(alice, firms(2))
    client, key = client_for(bob), api_key_for(bob)
    assert api(client, key, "post", f"/imports/{job.pk}/check").status_code == 404
    assert api(client, key, "get", f"/imports/{job.pk}/check").status_code == 404
    assert api(client, key, "post", f"/imports/{job.pk}/check/cancel").status_code == 404


def test_fixing_a_row_updates_the_stored_report_and_its_preview(alice):
    job = create(alice, rows_with_problems(4, (1,)))
    job = services.import_check_start(actor=alice, job=job)  # small: checked at once
    before = services.import_check_report(job)
    assert [line.action for line in before.preview] == ["create", "invalid", "create", "create"]
    assert (
        services.import_fix_row(actor=alice, job=job, row=3, values={"E-Mail": "x@firma.de"}) == []
    )
    job.refresh_from_db()
    after = services.import_check_report(job)
    assert [line.action for line in after.preview] == ["create"] * 4
    assert after.preview[1].values["email"] == "x@firma.de"
    assert (after.valid, after.invalid, after.create, after.problems) == (4, 0, 4, [])
