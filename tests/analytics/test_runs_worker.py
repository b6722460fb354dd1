"""*Run analytics now* never hangs: without a live job worker nothing is queued silently,
and a run whose worker died is marked failed and no longer blocks the next one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kreis.analytics.runs.models import AnalyticsRun, RunStatus
from kreis.core.models import WorkerHeartbeat
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_jobs():
    """Jobs go to the queue (as in production), not run at once as elsewhere in the tests."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = False
    yield
    HUEY.flush()  # what a test queued in its data folder's queue
    HUEY.immediate = True


def _worker(*, started_ago: int, beat_ago: int = 2) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        name=f"vm:{started_ago}",
        hostname="vm",
        pid=1,
        started_at=now - timedelta(seconds=started_ago),
        beat_at=now - timedelta(seconds=beat_ago),
    )


def test_without_a_worker_the_page_says_so_and_queues_nothing(dana, queued_jobs):
    client = client_for(dana)
    page = client.get("/analytics/runs/").content.decode()
    assert 'data-testid="no-worker"' in page
    assert "No job worker is running" in page

    response = client.post("/analytics/runs/start/", follow=True)
    assert "No job worker is running" in response.content.decode()
    assert not AnalyticsRun.objects.exists()


def test_without_a_worker_the_api_answers_503(dana, api_key_for, queued_jobs):
    key = api_key_for(dana, scope="read_write")
    response = client_for(dana).post(
        "/api/v1/analytics/run",
        data={},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 503
    assert "No job worker is running" in response.json()["detail"]
    assert not AnalyticsRun.objects.exists()


def test_with_a_live_worker_no_warning(dana, queued_jobs):
    _worker(started_ago=600)
    page = client_for(dana).get("/analytics/runs/").content.decode()
    assert 'data-testid="no-worker"' not in page


def test_a_run_whose_worker_died_is_failed_and_no_longer_blocks(dana, queued_jobs):
    orphan = AnalyticsRun.objects.create(as_of=timezone.localdate(), started_by=dana)
    AnalyticsRun.objects.filter(pk=orphan.pk).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )
    busy = AnalyticsRun.objects.create(as_of=timezone.localdate(), started_by=dana)
    # The worker alive now was started after the orphan began (its predecessor died), but
    # before the second run: that one is still being worked on.
    _worker(started_ago=300)

    page = client_for(dana).get(f"/analytics/runs/{orphan.pk}/").content.decode()
    orphan.refresh_from_db()
    busy.refresh_from_db()
    assert orphan.status == RunStatus.FAILED
    assert "The job worker stopped during the run" in orphan.error
    assert "The job worker stopped during the run" in page
    assert busy.status == RunStatus.RUNNING

    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(hours=1))  # all dead
    client_for(dana).get("/api/v1/analytics/runs")  # any look at the runs notices
    client_for(dana).get("/analytics/runs/")
    busy.refresh_from_db()
    assert busy.status == RunStatus.FAILED


def test_after_the_failed_run_a_new_run_starts(dana, queued_jobs):
    orphan = AnalyticsRun.objects.create(as_of=timezone.localdate(), started_by=dana)
    AnalyticsRun.objects.filter(pk=orphan.pk).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )
    _worker(started_ago=60)  # restarted since: the orphan's worker is gone
    response = client_for(dana).post("/analytics/runs/start/")
    assert response.status_code == 302
    assert "/analytics/runs/" in response["Location"]
    orphan.refresh_from_db()
    assert orphan.status == RunStatus.FAILED
    assert AnalyticsRun.objects.filter(status=RunStatus.RUNNING).exclude(pk=orphan.pk).count() == 1
