"""Activities in the Django admin, and the demo step."""

import pytest
from django.utils import timezone
from faker import Faker

from kreis.activities import demo
from kreis.activities.models import Activity, ActivityKind
from kreis.activities.queries import my_day
from kreis.core.demo import DEMO_STEPS, DemoContext
from kreis.parties.demo import create_parties
from kreis.service.demo import create_cases
from tests.activities.factories import MeetingFactory
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_and_edits_activities(dana, alice, north):
    dana.is_staff = dana.is_superuser = True
    dana.save()
    meeting = MeetingFactory(owner=alice, team=north, subject="Board meeting")
    client = client_for(dana)
    listing = client.get("/django-admin/activities/activity/")
    assert listing.status_code == 200
    assert "Board meeting" in listing.content.decode()
    assert client.get(f"/django-admin/activities/activity/{meeting.pk}/change/").status_code == 200


def test_demo_step_runs_after_parties_and_fills_my_day(monkeypatch, alice, north):
    monkeypatch.setitem(demo.SIZES, "small", 300)
    # After the parties, deals and cases it hangs activities on. Only these come later:
    # playbooks (they enrol customers by their activity), social listening (its mentions need
    # none), channel preferences, call lists and mailings (their calls and mails are new
    # activities of their own) and the inbox (it collects the messages of all the others).
    later = DEMO_STEPS[DEMO_STEPS.index(demo.create_activities) + 1 :]
    assert DEMO_STEPS.index(create_parties) < DEMO_STEPS.index(demo.create_activities)
    assert DEMO_STEPS.index(create_cases) < DEMO_STEPS.index(demo.create_activities)
    assert [step.__module__ for step in later] == [
        "kreis.playbooks.demo",
        "kreis.social.demo",
        "kreis.channels.demo",
        "kreis.calls.demo",
        "kreis.mailings.demo",
        "kreis.inbox.demo",
    ]
    for _ in range(5):
        OrganizationFactory(owner=alice, team=north)
    context = DemoContext(
        size="small", fake=Faker(["de_DE", "en_US"]), users=[alice], teams=[north]
    )
    assert demo.create_activities(context) == {"activities": 300}
    assert Activity.objects.count() == 300
    now = timezone.now()
    assert not Activity.objects.filter(kind=ActivityKind.NOTE, occurred_at__gt=now).exists()
    day = my_day(user=alice, today=timezone.localdate())
    assert len(day.overdue_tasks) >= 3
    assert len(day.today_tasks) >= 2
    assert len(day.meetings) >= 2
