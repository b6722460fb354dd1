"""Background jobs run through Huey; in tests they run immediately."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from kreis.core.models import Notification
from kreis.core.tasks import housekeeping, notify_users
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_tests_run_jobs_immediately():
    assert settings.HUEY["immediate"] is True


def test_job_queue_defaults_to_sqlite_in_the_data_folder():
    if settings.REDIS_URL:
        assert settings.HUEY["huey_class"] == "huey.RedisHuey"
    else:
        assert settings.HUEY["huey_class"] == "huey.SqliteHuey"
        assert settings.HUEY["filename"].startswith(str(settings.DATA_DIR))


def test_announcement_reaches_active_users_only(alice, bob):
    bob.is_active = False
    bob.save()
    notify_users([alice.pk, bob.pk], "System maintenance tonight")
    assert Notification.objects.filter(title="System maintenance tonight").count() == 1
    assert Notification.objects.get(title="System maintenance tonight").user == alice


def test_housekeeping_drops_old_read_notifications(alice):
    old = NotificationFactory(user=alice, read_at=timezone.now() - timedelta(days=120))
    unread = NotificationFactory(user=alice, created_at=timezone.now() - timedelta(days=400))
    housekeeping.call_local()
    assert not Notification.objects.filter(pk=old.pk).exists()
    assert Notification.objects.filter(pk=unread.pk).exists()
