"""Activities in the web UI: a record's timeline, quick add, My day, iCal, list and bulk."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from kreis.activities.models import Activity, ActivityKind
from kreis.parties.models import Employment
from tests.activities.factories import (
    ActivityFactory,
    DealFactory,
    LeadFactory,
    MeetingFactory,
    TaskFactory,
)
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def acme(alice, north):
    return OrganizationFactory(name="ACME GmbH", owner=alice, team=north)


def subjects(html: str) -> list[str]:
    """The subjects of the timeline entries, in the order shown."""
    return re.findall(r'class="fw-semibold[^"]*" href="/activities/\d+/">([^<]+)</a>', html)


def test_timeline_shows_a_partys_activities_newest_first(alice, acme):
    now = timezone.now()
    ActivityFactory(
        party=acme, team=acme.team, subject="Oldest note", occurred_at=now - timedelta(days=9)
    )
    ActivityFactory(
        party=acme,
        team=acme.team,
        kind=ActivityKind.CALL,
        direction="outbound",
        subject="Middle call",
        occurred_at=now - timedelta(days=3),
    )
    TaskFactory(
        party=acme, team=acme.team, subject="Newest task", occurred_at=now + timedelta(days=1)
    )
    ActivityFactory(team=acme.team, subject="Someone else's note")
    response = client_for(alice).get(f"/activities/timeline/?party={acme.pk}", **HTMX)
    assert response.status_code == 200
    assert subjects(response.content.decode()) == ["Newest task", "Middle call", "Oldest note"]


def test_timeline_filters_by_kind(alice, acme):
    ActivityFactory(party=acme, team=acme.team, subject="A note")
    ActivityFactory(
        party=acme, team=acme.team, kind=ActivityKind.CALL, direction="inbound", subject="A call"
    )
    MeetingFactory(party=acme, team=acme.team, subject="A meeting")
    client = client_for(alice)
    response = client.get(f"/activities/timeline/?party={acme.pk}&kind=call", **HTMX)
    assert subjects(response.content.decode()) == ["A call"]
    response = client.get(f"/activities/timeline/?party={acme.pk}&kind=call&kind=note", **HTMX)
    assert sorted(subjects(response.content.decode())) == ["A call", "A note"]


def test_organisation_timeline_includes_its_persons_activities(alice, acme, north):
    weber = PersonFactory(first_name="Petra", last_name="Weber", owner=alice, team=north)
    Employment.objects.create(person=weber, organization=acme)
    outsider = PersonFactory(owner=alice, team=north)
    ActivityFactory(party=acme, team=north, subject="About ACME")
    ActivityFactory(party=weber, team=north, subject="Talked to Petra")
    ActivityFactory(party=outsider, team=north, subject="Unrelated")
    response = client_for(alice).get(f"/activities/timeline/?party={acme.pk}", **HTMX)
    body = response.content.decode()
    assert sorted(subjects(body)) == ["About ACME", "Talked to Petra"]
    assert "Petra Weber" in body  # the person is named on the organisation's timeline
    person_page = client_for(alice).get(f"/activities/timeline/?party={weber.pk}", **HTMX)
    assert subjects(person_page.content.decode()) == ["Talked to Petra"]


def test_timeline_of_a_deal_and_a_lead(alice, north):
    deal = DealFactory(owner=alice, team=north)
    lead = LeadFactory(owner=alice, team=north)
    ActivityFactory(deal=deal, team=north, subject="Deal note")
    ActivityFactory(lead=lead, team=north, subject="Lead note")
    client = client_for(alice)
    assert subjects(client.get(f"/activities/timeline/?deal={deal.pk}").content.decode()) == [
        "Deal note"
    ]
    assert subjects(client.get(f"/activities/timeline/?lead={lead.pk}").content.decode()) == [
        "Lead note"
    ]


def test_timeline_body_is_shown_sanitised(alice, acme):
    client = client_for(alice)
    client.post(
        f"/activities/timeline/?party={acme.pk}",
        {"kind": "note", "body": "<p>Hello <em>there</em></p><script>alert(1)</script>"},
        **HTMX,
    )
    body = client.get(f"/activities/timeline/?party={acme.pk}", **HTMX).content.decode()
    assert "<em>there</em>" in body
    assert "<script>alert(1)</script>" not in body


def test_quick_add_a_call_and_a_task_from_the_timeline(alice, acme):
    client = client_for(alice)
    response = client.post(
        f"/activities/timeline/?party={acme.pk}",
        {"kind": "call", "subject": "Called Petra", "direction": "inbound"},
        **HTMX,
    )
    assert response.status_code == 200
    call = Activity.objects.get(subject="Called Petra")
    assert (call.kind, call.direction, call.party, call.owner) == ("call", "inbound", acme, alice)
    assert "Called Petra" in subjects(response.content.decode())
    # A task without a due date is refused, and the form says why.
    response = client.post(
        f"/activities/timeline/?party={acme.pk}", {"kind": "task", "subject": "Quote"}, **HTMX
    )
    assert "needs a due date" in response.content.decode()
    assert not Activity.objects.filter(subject="Quote").exists()


def test_timeline_loads_more_in_pages(alice, acme):
    now = timezone.now()
    for i in range(15):
        ActivityFactory(
            party=acme,
            team=acme.team,
            subject=f"Note {i:02d}",
            occurred_at=now - timedelta(hours=i),
        )
    client = client_for(alice)
    first = client.get(f"/activities/timeline/?party={acme.pk}", **HTMX).content.decode()
    assert len(subjects(first)) == 10
    assert "page=2" in first
    second = client.get(f"/activities/timeline/?party={acme.pk}&page=2", **HTMX).content.decode()
    assert subjects(second) == [f"Note {i:02d}" for i in range(10, 15)]
    assert "Load more" not in second


def test_timeline_query_count_does_not_grow_with_entries(
    alice, acme, north, django_assert_num_queries
):
    bob_person = PersonFactory(owner=alice, team=north)
    Employment.objects.create(person=bob_person, organization=acme)
    deal = DealFactory(owner=alice, team=north)
    for i in range(10):
        meeting = MeetingFactory(
            party=bob_person if i % 2 else acme, deal=deal, team=north, owner=alice
        )
        meeting.attendees.add(bob_person)
    client = client_for(alice)
    client.get("/")  # the session is warm
    # user, party, user's teams, the organisation's staff, the newest own and attended
    # activity ids, the activities, attendees, unread notifications (the session comes from
    # the cache)
    with django_assert_num_queries(9):
        response = client.get(f"/activities/timeline/?party={acme.pk}", **HTMX)
    assert len(subjects(response.content.decode())) == 10


def test_other_teams_party_timeline_is_404(charlie, acme):
    ActivityFactory(party=acme, team=acme.team, subject="Secret")
    client = client_for(charlie)
    assert client.get(f"/activities/timeline/?party={acme.pk}", **HTMX).status_code == 404
    assert (
        client.post(
            f"/activities/timeline/?party={acme.pk}", {"kind": "note", "body": "x"}, **HTMX
        ).status_code
        == 404
    )
    assert not Activity.objects.filter(body__contains="x", party=acme).exists()


def test_other_teams_activity_is_404(charlie, alice, acme):
    note = ActivityFactory(party=acme, team=acme.team, owner=alice)
    client = client_for(charlie)
    assert client.get(f"/activities/{note.pk}/").status_code == 404
    assert client.get(f"/activities/{note.pk}/edit/").status_code == 404
    assert client.post(f"/activities/{note.pk}/delete/").status_code == 404
    assert Activity.objects.get(pk=note.pk).deleted_at is None


def test_read_only_user_sees_but_cannot_write(rory, alice, acme):
    task = TaskFactory(party=acme, team=acme.team, owner=alice, subject="Visible task")
    client = client_for(rory)
    timeline = client.get(f"/activities/timeline/?party={acme.pk}", **HTMX).content.decode()
    assert "Visible task" in timeline
    assert "kreis-quick-add" not in timeline
    assert f"/activities/{task.pk}/complete/" not in timeline
    assert client.get("/activities/new/task/").status_code == 403
    assert client.post(f"/activities/{task.pk}/complete/").status_code == 404
    response = client.post(
        f"/activities/timeline/?party={acme.pk}", {"kind": "note", "body": "x"}, **HTMX
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.done_at is None


def test_party_page_loads_the_timeline(alice, acme):
    body = client_for(alice).get(f"/parties/{acme.pk}/").content.decode()
    assert f'hx-get="/activities/timeline/?party={acme.pk}"' in body


def test_my_day_shows_todays_and_overdue_tasks_and_todays_meetings(alice, bob, north):
    now = timezone.localtime()
    today_noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    TaskFactory(
        owner=alice, team=north, subject="Overdue task", occurred_at=today_noon - timedelta(days=2)
    )
    TaskFactory(owner=alice, team=north, subject="Today task", occurred_at=today_noon)
    TaskFactory(
        owner=alice,
        team=north,
        subject="Next week task",
        occurred_at=today_noon + timedelta(days=7),
    )
    TaskFactory(owner=alice, team=north, subject="Done task", occurred_at=today_noon, done_at=now)
    TaskFactory(owner=bob, team=north, subject="Bob's task", occurred_at=today_noon)
    MeetingFactory(owner=alice, team=north, subject="Today meeting", occurred_at=today_noon)
    MeetingFactory(
        owner=alice,
        team=north,
        subject="Tomorrow meeting",
        occurred_at=today_noon + timedelta(days=1),
    )
    response = client_for(alice).get("/activities/my-day/")
    body = response.content.decode()
    assert response.status_code == 200
    for shown in ("Overdue task", "Today task", "Today meeting"):
        assert shown in body
    for hidden in ("Next week task", "Done task", "Bob's task", "Tomorrow meeting"):
        assert hidden not in body
    overdue = body.split('data-testid="overdue-tasks"')[1].split("</ul>")[0]
    assert "Overdue task" in overdue
    assert "Today task" not in overdue


def test_completing_from_my_day_returns_the_updated_entry(alice, north):
    task = TaskFactory(owner=alice, team=north, subject="Finish me", occurred_at=timezone.now())
    response = client_for(alice).post(f"/activities/{task.pk}/complete/", **HTMX)
    assert response.status_code == 200
    assert "done" in response.content.decode()
    assert f"/activities/{task.pk}/reopen/" in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is not None


def test_dashboard_has_a_my_day_card(alice):
    body = client_for(alice).get("/").content.decode()
    assert 'hx-get="/activities/my-day/?card=1"' in body
    card = client_for(alice).get("/activities/my-day/?card=1", **HTMX)
    assert "<html" not in card.content.decode()


def test_meeting_downloads_as_ical_with_start_and_end(alice, acme):
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    meeting = MeetingFactory(
        party=acme,
        team=acme.team,
        owner=alice,
        subject="Quarterly review",
        location="Hamburg",
        occurred_at=start,
        ends_at=start + timedelta(minutes=90),
    )
    response = client_for(alice).get(f"/activities/{meeting.pk}/ical")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert event["SUMMARY"] == "Quarterly review · ACME GmbH"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(minutes=90)
    assert event["LOCATION"] == "Hamburg"


def test_ical_of_a_task_or_another_teams_meeting_is_404(alice, charlie, acme):
    task = TaskFactory(party=acme, team=acme.team, owner=alice)
    meeting = MeetingFactory(party=acme, team=acme.team, owner=alice)
    assert client_for(alice).get(f"/activities/{task.pk}/ical").status_code == 404
    assert client_for(charlie).get(f"/activities/{meeting.pk}/ical").status_code == 404


def test_personal_calendar_feed_has_my_meetings_and_open_tasks(alice, bob, north):
    MeetingFactory(owner=alice, team=north, subject="My meeting")
    TaskFactory(owner=alice, team=north, subject="My task")
    TaskFactory(owner=alice, team=north, subject="My done task", done_at=timezone.now())
    MeetingFactory(owner=bob, team=north, subject="Bob's meeting")
    response = client_for(alice).get("/activities/calendar.ics")
    calendar = Calendar.from_ical(response.content)
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["My meeting"]
    assert [str(t["SUMMARY"]) for t in calendar.walk("VTODO")] == ["My task"]
    assert client_for(alice).get("/activities/calendar.ics").status_code == 200
    from django.test import Client

    assert Client().get("/activities/calendar.ics").status_code == 302  # sign in first


def test_create_a_meeting_with_attendees_through_the_form(alice, acme, north):
    petra = PersonFactory(first_name="Petra", last_name="Weber", owner=alice, team=north)
    response = client_for(alice).post(
        f"/activities/new/meeting/?party={acme.pk}",
        {
            "subject": "Workshop",
            "occurred_at": "2030-05-06T10:00",
            "ends_at": "2030-05-06T12:00",
            "location": "Bremen",
            "party": f"ACME GmbH (#{acme.pk})",
            "attendees": [f"Petra Weber (#{petra.pk})", ""],
            "owner": alice.pk,
        },
    )
    meeting = Activity.objects.get(subject="Workshop")
    assert response.url == f"/activities/{meeting.pk}/"
    assert meeting.party == acme
    assert list(meeting.attendees.all()) == [petra]
    assert timezone.localtime(meeting.ends_at).hour == 12


def test_form_refuses_an_end_before_the_start(alice, acme):
    response = client_for(alice).post(
        "/activities/new/meeting/",
        {"subject": "Backwards", "occurred_at": "2030-05-06T10:00", "ends_at": "2030-05-06T09:00"},
    )
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()
    assert not Activity.objects.filter(subject="Backwards").exists()


def test_party_lookup_suggests_visible_parties_only(alice, charlie, acme, south):
    OrganizationFactory(name="ACME South", owner=charlie, team=south)
    body = client_for(alice).get("/activities/lookup/parties/?party=ACM").content.decode()
    assert f"ACME GmbH (#{acme.pk})" in body
    assert "ACME South" not in body


def test_list_filters_and_exports_csv(alice, charlie, acme, south):
    TaskFactory(party=acme, team=acme.team, owner=alice, subject="Open task")
    ActivityFactory(party=acme, team=acme.team, owner=alice, subject="A note")
    ActivityFactory(team=south, owner=charlie, subject="South note")
    client = client_for(alice)
    body = client.get("/activities/?kind=task", **HTMX).content.decode()
    assert "Open task" in body
    assert "A note" not in body
    page = client.get("/activities/").content.decode()
    assert 'data-testid="saved-views"' in page
    assert "South note" not in page
    csv = b"".join(client.get("/activities/export.csv?state=open").streaming_content).decode()
    assert "Open task" in csv
    assert "A note" not in csv
    assert "South note" not in csv


def test_bulk_mark_done_and_delete_with_confirmation(alice, charlie, acme, south):
    first = TaskFactory(party=acme, team=acme.team, owner=alice)
    second = TaskFactory(party=acme, team=acme.team, owner=alice)
    foreign = TaskFactory(team=south, owner=charlie)
    client = client_for(alice)
    client.post(
        "/activities/bulk/", {"action": "mark_done", "ids": [first.pk, second.pk, foreign.pk]}
    )
    assert Activity.objects.filter(done_at__isnull=False).count() == 2  # not charlie's
    confirm = client.post("/activities/bulk/", {"action": "delete", "ids": [first.pk]})
    assert confirm.status_code == 200
    assert "Delete 1 record?" in confirm.content.decode()
    assert Activity.objects.get(pk=first.pk).deleted_at is None
    client.post("/activities/bulk/", {"action": "delete", "ids": [first.pk], "confirmed": "1"})
    assert Activity.objects.get(pk=first.pk).deleted_at is not None


def test_bulk_assign_owner_is_checked_per_record(alice, bob, mia, acme):
    task = TaskFactory(party=acme, team=acme.team, owner=alice)
    client_for(alice).post(
        "/activities/bulk/", {"action": "assign_owner", "owner": bob.pk, "ids": [task.pk]}
    )
    assert Activity.objects.get(pk=task.pk).owner == alice  # a rep may not give it away
    client_for(mia).post(
        "/activities/bulk/", {"action": "assign_owner", "owner": bob.pk, "ids": [task.pk]}
    )
    assert Activity.objects.get(pk=task.pk).owner == bob


def test_my_day_lists_the_oldest_overdue_tasks_and_counts_all(alice, north):
    from kreis.activities.queries import my_day

    now = timezone.now()
    for days in (3, 2, 1):
        TaskFactory(
            owner=alice,
            team=north,
            subject=f"{days} days late",
            occurred_at=now - timedelta(days=days),
        )
    day = my_day(user=alice, today=timezone.localdate(), overdue_limit=2)
    assert day.overdue_count == 3
    assert [t.subject for t in day.overdue_tasks] == ["3 days late", "2 days late"]
    assert day.more_overdue == 1
