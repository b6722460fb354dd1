"""Activity services: kind rules, sanitised bodies, permissions, completion and reminders."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.activities import services
from kreis.activities.models import Activity, ActivityKind
from kreis.activities.tasks import send_reminders
from kreis.core.models import Notification
from tests.activities.factories import DealFactory, TaskFactory
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(alice, north):
    return OrganizationFactory(name="ACME GmbH", owner=alice, team=north)


def test_note_body_is_sanitised_and_script_removed(alice, acme):
    note = services.activity_create(
        actor=alice,
        kind=ActivityKind.NOTE,
        party=acme,
        body=(
            '<p onclick="steal()">Met <strong>Ms Weber</strong></p>'
            "<script>alert('x')</script><img src=x onerror=alert(1)>"
            '<a href="javascript:alert(1)">bad</a> <a href="https://acme.example">site</a>'
        ),
    )
    assert "<script" not in note.body
    assert "onclick" not in note.body
    assert "onerror" not in note.body
    assert "<img" not in note.body
    assert "javascript:" not in note.body
    assert "<strong>Ms Weber</strong>" in note.body
    assert 'href="https://acme.example"' in note.body
    assert 'rel="noopener noreferrer nofollow"' in note.body
    # A note without a subject is titled with the beginning of its text.
    assert note.subject.startswith("Met Ms Weber")
    assert note.done_at is not None


def test_plain_text_keeps_its_line_breaks(alice, acme):
    note = services.activity_create(
        actor=alice, kind=ActivityKind.NOTE, party=acme, body="first line\nsecond: 3 < 5"
    )
    assert note.body == "<p>first line<br>second: 3 &lt; 5</p>"


def test_note_needs_a_text(alice, acme):
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice, kind=ActivityKind.NOTE, party=acme, body="<script>x</script>"
        )
    assert "body" in exc.value.message_dict


def test_task_is_due_and_its_reminder_comes_before(alice, acme):
    due = timezone.now() + timedelta(days=2)
    with pytest.raises(ValidationError) as exc:
        services.activity_create(actor=alice, kind=ActivityKind.TASK, subject="Send quote")
    assert "occurred_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice,
            kind=ActivityKind.TASK,
            subject="Send quote",
            occurred_at=due,
            reminder_at=due + timedelta(hours=1),
        )
    assert "reminder_at" in exc.value.message_dict
    task = services.activity_create(
        actor=alice,
        kind=ActivityKind.TASK,
        subject="Send quote",
        occurred_at=due,
        reminder_at=due - timedelta(hours=1),
        party=acme,
    )
    assert task.is_open_task
    assert task.owner == alice
    assert task.team == acme.team


def test_meeting_ends_after_it_starts_and_fields_of_other_kinds_are_refused(alice, acme):
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice,
            kind=ActivityKind.MEETING,
            subject="Kick-off",
            occurred_at=start,
            ends_at=start - timedelta(minutes=5),
        )
    assert "ends_at" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice,
            kind=ActivityKind.MEETING,
            subject="Kick-off",
            occurred_at=start,
            duration_minutes=30,
        )
    assert "duration_minutes" in exc.value.message_dict
    person = PersonFactory(owner=alice, team=acme.team)
    meeting = services.activity_create(
        actor=alice,
        kind=ActivityKind.MEETING,
        subject="Kick-off",
        occurred_at=start,
        location="Hamburg",
        party=acme,
        attendees=[person],
    )
    assert meeting.ends_at == start + timedelta(hours=1)
    assert list(meeting.attendees.all()) == [person]
    assert meeting.done_at is None


def test_call_needs_a_direction_and_a_past_call_is_done(alice, acme):
    with pytest.raises(ValidationError) as exc:
        services.activity_create(actor=alice, kind=ActivityKind.CALL, subject="Call")
    assert "direction" in exc.value.message_dict
    call = services.activity_create(
        actor=alice,
        kind=ActivityKind.CALL,
        subject="Follow-up",
        direction="outbound",
        duration_minutes=12,
        outcome="reached",
        party=acme,
    )
    assert call.done_at is not None


def test_linking_a_party_or_deal_of_another_team_is_refused(alice, charlie, south):
    theirs = OrganizationFactory(owner=charlie, team=south)
    with pytest.raises(ValidationError) as exc:
        services.activity_create(actor=alice, kind=ActivityKind.NOTE, body="x", party=theirs)
    assert "party_id" in exc.value.message_dict
    deal = DealFactory(owner=charlie, team=south)
    with pytest.raises(ValidationError) as exc:
        services.activity_create(actor=alice, kind=ActivityKind.NOTE, body="x", deal=deal)
    assert "deal_id" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice,
            kind=ActivityKind.MEETING,
            subject="m",
            occurred_at=timezone.now(),
            attendees=[theirs],
        )
    assert "attendee_ids" in exc.value.message_dict


def test_read_only_user_cannot_write(rory, alice, acme):
    with pytest.raises(PermissionDenied):
        services.activity_create(actor=rory, kind=ActivityKind.NOTE, body="x", party=acme)
    task = TaskFactory(owner=alice, team=acme.team)
    with pytest.raises(PermissionDenied):
        services.activity_complete(actor=rory, activity=task)


def test_rep_cannot_assign_a_task_to_someone_else_but_a_manager_can(alice, bob, mia, acme):
    due = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        services.activity_create(
            actor=alice, kind=ActivityKind.TASK, subject="x", occurred_at=due, owner=bob
        )
    assert "owner_id" in exc.value.message_dict
    task = services.activity_create(
        actor=mia, kind=ActivityKind.TASK, subject="x", occurred_at=due, owner=bob, party=acme
    )
    assert task.owner == bob


def test_complete_and_reopen_a_task(alice, acme):
    task = TaskFactory(owner=alice, team=acme.team)
    services.activity_complete(actor=alice, activity=task)
    assert Activity.objects.get(pk=task.pk).done_at is not None
    services.activity_reopen(actor=alice, activity=task)
    assert Activity.objects.get(pk=task.pk).done_at is None


def test_reminder_creates_a_notification_once(alice, bob, acme):
    now = timezone.now()
    due = TaskFactory(
        owner=alice,
        team=acme.team,
        subject="Call Weber back",
        occurred_at=now + timedelta(hours=1),
        reminder_at=now - timedelta(minutes=1),
    )
    TaskFactory(owner=bob, reminder_at=now + timedelta(hours=1))  # not yet
    TaskFactory(owner=bob, reminder_at=now - timedelta(hours=1), done_at=now)  # done already
    assert send_reminders.call_local() == 1
    assert services.activity_send_reminders() == 0  # the next minute: nothing again
    notification = Notification.objects.get()
    assert notification.user == alice
    assert "Call Weber back" in notification.title
    assert notification.url == f"/activities/{due.pk}/"
    due.refresh_from_db()
    assert due.reminded_at is not None


def test_moving_the_reminder_arms_it_again(alice, acme):
    now = timezone.now()
    task = TaskFactory(
        owner=alice,
        team=acme.team,
        occurred_at=now + timedelta(days=2),
        reminder_at=now - timedelta(minutes=1),
    )
    services.activity_send_reminders()
    services.activity_update(actor=alice, activity=task, reminder_at=now + timedelta(days=1))
    task.refresh_from_db()
    assert task.reminded_at is None
