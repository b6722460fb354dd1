"""The import wizard in a real browser (issue 11): a Windows-1252 contact list with German
headers goes through upload, the suggested mapping, the check with two bad rows (one fixed in
the wizard, the other skipped) — the check running as a job, its progress bar followed until
the report shows —, the run with its progress bar, and the summary; importing the
same file again creates nothing, and undo removes what the first import created.

Each flow runs at 1280 px in English and at 390 px in German; screenshots of every step go to
var/screenshots (import-<step>-<width>.png)."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kreis.core.models import WorkerHeartbeat
from kreis.migration import checks
from kreis.migration.models import ImportJob, ImportStatus
from kreis.parties.models import Party
from tests.browser.test_analytics_browser import UNNAMED, WIDEST
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.migration.test_wizard_pages import (
    BAD_EMAIL_ROW,
    BAD_PHONE_ROW,
    GOOD_ROWS,
    ROWS,
    contacts_csv,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [(1280, "en"), (390, "de")]


def shot(page, name: str, width: int) -> None:
    """A full-page screenshot, after checking the page fits the width and names its buttons."""
    assert page.evaluate(WIDEST, width) == [], f"{name}: something sticks out at {width} px"
    assert page.evaluate(UNNAMED) == [], f"{name}: a button or link without a name"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"import-{name}-{width}.png"), full_page=True)


def upload_file(page, live_server, name="Kontakte.csv") -> None:
    page.goto(f"{live_server.url}/imports/new/")
    page.select_option("select[name=entity]", "person")
    page.set_input_files(
        "input[name=file]", {"name": name, "mimeType": "text/csv", "buffer": contacts_csv()}
    )
    page.locator("form[enctype] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))


def accept_mapping(page) -> None:
    page.locator("form.kreis-import-form button[type=submit]:not([form])").click()
    page.wait_for_url(re.compile(r"/imports/\d+/check/$"))


def start_import(page) -> None:
    skip = page.locator("#skip-invalid")
    if skip.count():
        skip.check()
    page.get_by_test_id("start-import").click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))


@pytest.fixture
def importer(alice):
    return alice


@contextmanager
def check_as_a_job():
    """The check goes to the job queue as in production (not run at once as in the other
    tests, whatever the file's size), with a live worker's heartbeat; the test does that
    worker's part itself (``watch_the_check``)."""
    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    now = timezone.now()
    beat = WorkerHeartbeat.objects.create(
        name="browser:1", hostname="vm", pid=1, started_at=now - dt.timedelta(hours=1), beat_at=now
    )
    at_once, settings.KREIS_IMPORT_CHECK_AT_ONCE = settings.KREIS_IMPORT_CHECK_AT_ONCE, 0
    HUEY.immediate = False
    try:
        yield
    finally:
        HUEY.flush()
        HUEY.immediate = True
        settings.KREIS_IMPORT_CHECK_AT_ONCE = at_once
        beat.delete()


def watch_the_check(page, job: ImportJob, width: int) -> None:
    """Step 3 while the rows are checked: the page waits for the worker, then its progress
    bar follows the check chunk by chunk (polled every 2 s), with a button to cancel; when
    the check is done, the page turns into the report."""
    expect(page.get_by_test_id("check-progress")).to_be_visible()
    expect(page.get_by_test_id("progress-bar")).to_have_attribute("value", "0")
    expect(page.get_by_test_id("cancel-check")).to_be_visible()
    shot(page, "3-check-queued", width)
    chunks = []

    def after_each_chunk(checking: ImportJob) -> None:
        chunks.append(checking.rows_checked)
        if len(chunks) == 1:  # the page shows the first chunk's rows, the rate, the end
            bar = page.get_by_test_id("progress-bar")
            expect(bar).to_have_attribute("value", "4", timeout=8000)
            expect(bar).to_have_attribute("max", str(len(ROWS)))
            expect(page.get_by_test_id("progress-text")).to_contain_text("/s")
            shot(page, "3-checking", width)

    checks.import_check_run(job.pk, progress=after_each_chunk)
    assert chunks == [4, len(ROWS)]
    # The worker wrote the problems in the importer's language, as the page shows them.
    expect(page.get_by_test_id("problems")).to_contain_text(
        "keine gültige" if job.created_by.language == "de" else "not a valid", timeout=8000
    )
    expect(page.get_by_test_id("check-counts")).to_be_visible(timeout=8000)
    expect(page.get_by_test_id("check-progress")).to_have_count(0)


@pytest.mark.parametrize(("width", "language"), WIDTHS)
def test_import_a_windows_1252_contact_list_fixing_one_bad_row(
    page, live_server, importer, width, language
):
    importer.language = language
    importer.save()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/imports/")
    shot(page, "list-empty", width)

    # Step 1: upload.
    page.goto(f"{live_server.url}/imports/new/")
    expect(page.locator(".kreis-step.active")).to_contain_text("1")
    shot(page, "1-upload", width)
    upload_file(page, live_server)

    # Step 2: the suggested mapping; the umlauts came through from Windows-1252.
    mapping = page.get_by_test_id("mapping")
    expect(mapping).to_contain_text("Müller Maschinenbau GmbH")
    expect(mapping).to_contain_text("Straße")
    expect(page.get_by_label("Vorname")).to_have_value("first_name")
    expect(page.get_by_label("Nachname")).to_have_value("last_name")
    expect(page.get_by_label("E-Mail", exact=True)).to_have_value("email")
    expect(page.get_by_label("PLZ")).to_have_value("postal_code")
    expect(page.get_by_test_id("file-facts")).to_contain_text("1252")
    shot(page, "2-mapping", width)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(options={"chunk_size": 4})
    with check_as_a_job():
        accept_mapping(page)
        watch_the_check(page, job, width)

    # Step 3: the check names the two bad rows, column and problem; nothing is written yet.
    bad = page.get_by_test_id("bad-row")
    expect(bad).to_have_count(2)
    expect(bad.nth(0)).to_contain_text(str(BAD_EMAIL_ROW))
    expect(bad.nth(0)).to_contain_text("E-Mail")
    expect(bad.nth(1)).to_contain_text(str(BAD_PHONE_ROW))
    expect(bad.nth(1)).to_contain_text("Telefon")
    expect(page.get_by_test_id("preview")).to_contain_text("Björn")
    assert Party.objects.count() == 0
    shot(page, "3-check", width)

    # Fix row 4 in the wizard: open its form with the keyboard, correct the address, save.
    row = page.locator(f"#row-{BAD_EMAIL_ROW}")
    row.locator("summary").focus()
    page.keyboard.press("Enter")
    field = row.get_by_label("E-Mail", exact=True)
    expect(field).to_have_value("joerg@@weiss-soehne")
    shot(page, "3-fix-row", width)
    field.fill("joerg@weiss-soehne.de")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("bad-row")).to_have_count(1)
    expect(page.get_by_test_id("count-valid")).to_have_text(str(GOOD_ROWS + 1))
    shot(page, "3-check-fixed", width)

    # Step 4: import, skipping the row still bad; the progress bar is full, the summary shows.
    start_import(page)
    bar = page.get_by_test_id("progress-bar")
    expect(bar).to_have_attribute("value", str(len(ROWS)))
    expect(bar).to_have_attribute("max", str(len(ROWS)))
    expect(page.get_by_test_id("summary-created")).to_have_text(str(GOOD_ROWS + 1))
    expect(page.get_by_test_id("summary-failed")).to_have_text("1")
    expect(page.get_by_test_id("download-errors")).to_be_visible()
    shot(page, "4-summary", width)
    names = set(Party.objects.filter(kind="person").values_list("name", flat=True))
    assert "Jörg Weiß" in names
    assert "Sönke Fleißig" not in names
    assert page.console_errors == []


@pytest.mark.parametrize(("width", "language"), WIDTHS)
def test_importing_the_same_file_again_creates_nothing_and_undo_removes_the_records(
    page, live_server, importer, width, language
):
    importer.language = language
    importer.save()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "alice")
    for _attempt in range(2):
        upload_file(page, live_server)
        accept_mapping(page)
        start_import(page)
        expect(page.get_by_test_id("import-summary")).to_be_visible()
    first, _second = ImportJob.objects.order_by("pk")
    created = Party.objects.count()  # the persons and their organisations
    assert first.created_count == Party.objects.filter(kind="person").count() == GOOD_ROWS
    expect(page.get_by_test_id("summary-created")).to_have_text("0")
    assert Party.objects.count() == created
    shot(page, "5-reimport", width)

    page.goto(f"{live_server.url}/imports/")
    expect(page.get_by_test_id("import-list").locator("tbody tr")).to_have_count(2)
    shot(page, "list", width)
    page.goto(f"{live_server.url}/imports/{first.pk}/")
    page.locator(f"a[href$='/imports/{first.pk}/undo/']").click()
    page.wait_for_url(re.compile(r"/undo/$"))
    expect(page.get_by_test_id("undo-effects")).to_contain_text(str(created))
    shot(page, "6-undo-confirm", width)
    assert Party.objects.filter(deleted_at=None).count() == created  # asked, not done yet
    page.get_by_test_id("confirm-undo").click()
    page.wait_for_url(re.compile(rf"/imports/{first.pk}/$"))
    expect(page.get_by_test_id("undone-note")).to_be_visible()
    shot(page, "6-undone", width)
    first.refresh_from_db()
    assert first.status == ImportStatus.UNDONE
    assert Party.objects.filter(deleted_at=None).count() == 0
    assert page.console_errors == []


def test_the_progress_bar_follows_a_running_import_live(page, live_server, importer):
    """The page polls while the import runs (HTMX, every 2 s) and turns into the summary."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    upload_file(page, live_server)
    job = ImportJob.objects.get()
    began = timezone.now() - dt.timedelta(seconds=3)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, rows_done=3, run_started_at=began, progress_at=began
    )
    page.goto(f"{live_server.url}/imports/{job.pk}/")
    bar = page.get_by_test_id("progress-bar")
    expect(bar).to_have_attribute("value", "3")
    text = page.get_by_test_id("progress-text")
    expect(text).to_contain_text("3 of 6 rows")
    expect(text).to_contain_text(re.compile(r"\d rows/s · expected end \d"))
    shot(page, "4-running", 390)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.DONE, rows_done=6, created_count=6
    )
    expect(page.get_by_test_id("summary-created")).to_have_text("6", timeout=8000)
    expect(bar).to_have_attribute("value", "6")
    assert page.console_errors == []


def test_a_running_check_is_cancelled_and_started_again(page, live_server, importer):
    """Cancel the check while it waits for the worker: the page says so and offers to check
    again; checked again, the report shows when the worker is done."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    upload_file(page, live_server)
    job = ImportJob.objects.get()
    with check_as_a_job():
        accept_mapping(page)
        page.get_by_test_id("cancel-check").click()
        page.wait_for_url(re.compile(r"/imports/\d+/check/$"))
        expect(page.get_by_test_id("start-check")).to_be_visible()
        job.refresh_from_db()
        assert job.status == ImportStatus.UPLOADED
        shot(page, "3-check-cancelled", 390)
        page.get_by_test_id("start-check").click()
        expect(page.get_by_test_id("check-progress")).to_be_visible()
        checks.import_check_run(job.pk)
        expect(page.get_by_test_id("bad-row")).to_have_count(2, timeout=8000)
    assert Party.objects.count() == 0
    assert page.console_errors == []
