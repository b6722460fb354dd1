"""Backups for administrators without a shell: "Back up now" on the page and through the API,
the archive checked and downloadable, the newest kept, one at a time, and the nightly one."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from kreis.core.models import WorkerHeartbeat
from kreis.migration.backup import backup_verify
from kreis.migration.backups import services
from kreis.migration.backups.tasks import nightly_backup, nightly_due
from kreis.migration.models import Backup, BackupStatus
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def backup_dir(tmp_path, settings):
    settings.KREIS_BACKUP_DIR = tmp_path / "backups"
    settings.KREIS_BACKUP_KEEP = 7
    return settings.KREIS_BACKUP_DIR


def test_back_up_now_writes_a_checked_archive_and_lists_it(dana, backup_dir):
    OrganizationFactory(name="Sicher GmbH")
    client = client_for(dana)
    assert client.get("/manage/backups/").status_code == 200

    response = client.post("/manage/backups/new/")  # the test queue writes it at once
    assert response.status_code == 302
    backup = Backup.objects.get()
    assert backup.status == BackupStatus.DONE
    assert backup.verified
    assert backup.rows > 0
    assert backup.created_by == dana
    archive = backup_dir / backup.file_name
    assert archive.stat().st_size == backup.size_bytes
    manifest = backup_verify(archive)
    assert manifest["tables"]["parties_party"]["rows"] == 1

    page = client.get("/manage/backups/").content.decode()
    assert backup.file_name in page
    assert f'href="/manage/backups/{backup.pk}/download/"' in page

    download = client.get(f"/manage/backups/{backup.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="{backup.file_name}"'
    body = b"".join(download.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")


def test_the_page_in_german(dana):
    dana.language = "de"
    dana.save()
    page = client_for(dana).get("/manage/backups/").content.decode()
    assert "Jetzt sichern" in page
    assert "Noch keine Sicherungen." in page


def test_only_administrators_see_or_make_backups(alice, dana, api_key_for):
    client_for(dana).post("/manage/backups/new/")
    backup = Backup.objects.get()
    rep = client_for(alice)
    assert rep.get("/manage/backups/").status_code == 404
    assert rep.post("/manage/backups/new/").status_code == 404
    assert rep.get(f"/manage/backups/{backup.pk}/download/").status_code == 404
    assert rep.post(f"/manage/backups/{backup.pk}/delete/").status_code == 404
    key = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice, scope='read_write')}"}
    assert Client().post("/api/v1/backups", **key).status_code == 404
    assert Client().get(f"/api/v1/backups/{backup.pk}/archive", **key).status_code == 404
    assert Backup.objects.count() == 1
    assert Client().post("/manage/backups/new/").status_code == 302  # to the login page


def test_api_start_follow_download_and_delete(dana, api_key_for, backup_dir):
    admin = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(dana, scope='read_write')}"}
    client = Client()
    started = client.post("/api/v1/backups", **admin)
    assert started.status_code == 202
    body = started.json()
    assert body["status"] == "done"
    assert body["verified"] is True
    assert body["tables_done"] == body["tables_total"] > 50

    listing = client.get("/api/v1/backups", **admin).json()
    assert [item["id"] for item in listing["items"]] == [body["id"]]
    archive = client.get(f"/api/v1/backups/{body['id']}/archive", **admin)
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"

    assert client.delete(f"/api/v1/backups/{body['id']}", **admin).status_code == 204
    assert not (backup_dir / body["file_name"]).exists()
    assert client.get(f"/api/v1/backups/{body['id']}", **admin).status_code == 404


def test_the_newest_are_kept_and_older_archives_deleted(dana, settings, backup_dir):
    settings.KREIS_BACKUP_KEEP = 2
    made = []
    for _ in range(3):
        backup = services.backup_begin(actor=dana)
        made.append(services.backup_run(backup.pk))
        # A second apart in the list, as backups taken one after another are.
        Backup.objects.filter(pk=backup.pk).update(
            started_at=timezone.now() - timedelta(minutes=10 - len(made))
        )
    services.backups_prune()
    kept = list(Backup.objects.values_list("file_name", flat=True))
    assert kept == [made[2].file_name, made[1].file_name]
    assert sorted(p.name for p in backup_dir.iterdir()) == sorted(kept)


def test_one_backup_at_a_time(dana):
    services.backup_begin(actor=dana)  # not written yet: it is running
    with pytest.raises(ValidationError) as refused:
        services.backup_begin(actor=dana)
    assert refused.value.code == "running"
    page = client_for(dana).get("/manage/backups/").content.decode()
    assert 'data-testid="backup-progress"' in page
    assert 'hx-trigger="every 2s"' in page  # the progress bar follows the job


def test_a_backup_whose_worker_died_failed_and_the_next_one_starts(dana, monkeypatch):
    monkeypatch.setattr(services, "jobs_run_immediately", lambda: False)
    stale = Backup.objects.create(file_name="kreis-backup-20261206-010000.zip", created_by=dana)
    Backup.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(hours=1))
    now = timezone.now()
    WorkerHeartbeat.objects.create(  # a worker started after the backup (restarted)
        name="host:2:new", hostname="host", pid=2, started_at=now, beat_at=now
    )
    fresh = services.backup_begin(actor=dana)
    stale.refresh_from_db()
    assert stale.status == BackupStatus.FAILED
    assert "worker stopped" in stale.error
    assert fresh.status == BackupStatus.RUNNING


def test_no_worker_means_no_backup_queued(dana, monkeypatch):
    monkeypatch.setattr(services, "jobs_run_immediately", lambda: False)
    with pytest.raises(ValidationError) as refused:
        services.backup_begin(actor=dana)
    assert refused.value.code == "no_worker"
    assert not Backup.objects.exists()


def test_nightly_backup_at_its_hour_or_off(settings):
    settings.KREIS_BACKUP_HOUR = "1"
    assert nightly_due(datetime(2026, 12, 7, 1, 15, tzinfo=UTC))
    assert not nightly_due(datetime(2026, 12, 7, 1, 16, tzinfo=UTC))
    assert not nightly_due(datetime(2026, 12, 7, 2, 15, tzinfo=UTC))
    settings.KREIS_BACKUP_HOUR = "off"
    assert not nightly_due(datetime(2026, 12, 7, 1, 15, tzinfo=UTC))


def test_the_nightly_backup_is_listed_as_such(db):
    nightly_backup.call_local()
    backup = Backup.objects.get()
    assert backup.scheduled
    assert backup.created_by is None
    assert backup.status == BackupStatus.DONE
