"""Tasks on a case: added on the case page or through the API, shown with open/done, done from
the case page, and on the assignee's My day like any task."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.service.models import CaseTask
from kreis.service.processing import services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _today_late() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT23:00")


def _tomorrow() -> str:
    return (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT09:00")


def test_agent_adds_a_task_for_a_teammate_and_it_is_on_her_my_day(case, sam, sue):
    client = client_for(sam)
    response = client.post(
        f"/cases/{case.pk}/tasks/",
        {"title": "Ersatzdichtung bestellen", "due_at": _today_late(), "assignee": sue.pk},
    )
    assert response.status_code == 302
    task = CaseTask.objects.get(case=case)
    activity = task.activity
    assert (activity.kind, activity.owner, activity.party, activity.team) == (
        "task",
        sue,
        case.party,
        case.team,
    )
    assert activity.created_by == sam
    page = client.get(f"/cases/{case.pk}/").text
    assert "Ersatzdichtung bestellen" in page
    assert "open" in page
    my_day = client_for(sue).get("/activities/").text
    assert "Ersatzdichtung bestellen" in my_day


def test_task_is_completed_from_the_case_page_and_can_be_reopened(case, sam):
    task = services.case_task_create(
        actor=sam, case=case, title="Kunden anrufen", due_at=timezone.now() + dt.timedelta(hours=2)
    )
    client = client_for(sam)
    assert client.post(f"/cases/{case.pk}/tasks/{task.pk}/done/", {"done": "1"}).status_code == 302
    assert Activity.objects.get(pk=task.activity_id).done_at is not None
    assert "Reopen" in client.get(f"/cases/{case.pk}/").text
    client.post(f"/cases/{case.pk}/tasks/{task.pk}/done/", {"done": "0"})
    assert Activity.objects.get(pk=task.activity_id).done_at is None


def test_task_without_title_or_due_date_is_refused_with_a_message(case, sam):
    client = client_for(sam)
    response = client.post(f"/cases/{case.pk}/tasks/", {"title": "", "due_at": ""}, follow=True)
    assert not CaseTask.objects.exists()
    assert "This field is required." in response.text


def test_assigning_to_an_agent_of_another_team_is_refused(case, sam, otto):
    with pytest.raises(Exception, match="team"):
        services.case_task_create(
            actor=sam, case=case, title="X", due_at=timezone.now(), assignee=otto
        )
    assert not CaseTask.objects.exists()


def test_sales_rep_and_other_teams_agent_cannot_add_or_complete_tasks(case, sam, otto, alice):
    task = services.case_task_create(actor=sam, case=case, title="Prüfen", due_at=timezone.now())
    form = {"title": "Fremd", "due_at": _tomorrow()}
    # otto may not even see the case; alice sees it (her customer) but may only read it.
    assert client_for(otto).post(f"/cases/{case.pk}/tasks/", form).status_code == 404
    assert client_for(alice).post(f"/cases/{case.pk}/tasks/", form).status_code == 403
    done = f"/cases/{case.pk}/tasks/{task.pk}/done/"
    assert client_for(otto).post(done).status_code == 404
    assert client_for(alice).post(done).status_code == 403
    assert CaseTask.objects.count() == 1
    assert Activity.objects.get(pk=task.activity_id).done_at is None
    # alice sees the tasks, without the forms
    page = client_for(alice).get(f"/cases/{case.pk}/").text
    assert "Prüfen" in page
    assert "Add task" not in page


def test_api_adds_lists_and_completes_tasks(case, sam, otto, alice, api):
    call = api(sam)
    due = (timezone.now() + dt.timedelta(days=2)).isoformat()
    created = call("post", f"/cases/{case.pk}/tasks", {"title": "Gutachten", "due_at": due})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["done"], body["assignee_id"]) == (False, sam.pk)
    assert body["title"] == "Gutachten"
    listed = call("get", f"/cases/{case.pk}/tasks").json()
    assert [t["id"] for t in listed] == [body["id"]]
    done = call("post", f"/cases/{case.pk}/tasks/{body['id']}/done", {"done": True})
    assert done.json()["done"] is True
    assert api(otto)("get", f"/cases/{case.pk}/tasks").status_code == 404
    refused = api(alice)("post", f"/cases/{case.pk}/tasks", {"title": "X", "due_at": due})
    assert refused.status_code == 404
    assert CaseTask.objects.count() == 1
