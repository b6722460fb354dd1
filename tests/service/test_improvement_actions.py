"""Improvement actions (information usage): planned against a root cause, tracked to completion,
and their effect — the cases of the root cause before and after the day they took effect."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.service.improvement import queries, services
from kreis.service.models import Case, ImprovementAction
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _cases_on(case, root_cause, days_ago: list[int]):
    """Copies of ``case`` with the root cause, received ``days_ago`` days before today."""
    now = timezone.now()
    for i, ago in enumerate(days_ago):
        copy = Case.objects.create(
            number=f"C-2000-{i:06d}",
            party=case.party,
            channel="phone",
            category=case.category,
            subject="Leck",
            root_cause=root_cause,
        )
        Case.objects.filter(pk=copy.pk).update(created_at=now - dt.timedelta(days=ago, hours=1))


def test_agent_plans_an_action_and_marks_it_done_which_sets_the_effective_date(sam, root_cause):
    client = client_for(sam)
    response = client.post(
        "/cases/improvement-actions/new/",
        {
            "root_cause": root_cause.pk,
            "title": "Dichtungen prüfen",
            "status": "planned",
            "due_date": "2026-01-15",
        },
    )
    assert response.status_code == 302
    action = ImprovementAction.objects.get()
    assert (action.owner, action.effective_on) == (sam, None)
    client.post(
        f"/cases/improvement-actions/{action.pk}/edit/",
        {"root_cause": root_cause.pk, "title": "Dichtungen prüfen", "status": "done"},
    )
    action.refresh_from_db()
    assert (action.status, action.effective_on) == ("done", timezone.localdate())


def test_effect_counts_cases_in_equal_periods_before_and_after(case, sam, root_cause):
    today = timezone.localdate()
    _cases_on(case, root_cause, [25, 22, 21, 15, 12, 3])
    action = services.improvement_action_create(
        actor=sam,
        root_cause=root_cause,
        title="Neuer Lieferant",
        status="done",
        effective_on=today - dt.timedelta(days=10),
    )
    effect = queries.effect(root_cause_id=root_cause.pk, effective_on=action.effective_on)
    # N = 10 days: before = days 20..11 ago (15, 12), after = days 10..1 ago (3)
    assert (effect.days, effect.before, effect.after) == (10, 2, 1)
    assert effect.change_percent == -50.0
    page = client_for(sam).get(f"/cases/improvement-actions/{action.pk}/").text
    assert "in the 10 days before it took effect" in page
    assert 'data-chart-json="action-effect"' in page


def test_before_it_takes_effect_the_trend_so_far_is_shown(case, sam, root_cause):
    _cases_on(case, root_cause, [1, 8, 200])
    action = services.improvement_action_create(actor=sam, root_cause=root_cause, title="Plan")
    effect = queries.effect(root_cause_id=root_cause.pk, effective_on=None)
    assert not effect.compared
    assert effect.before == 2  # the last 13 weeks
    page = client_for(sam).get(f"/cases/improvement-actions/{action.pk}/").text
    assert "No effective date yet" in page


def test_list_filters_and_highlights_overdue_actions(sam, root_cause):
    late = services.improvement_action_create(
        actor=sam,
        root_cause=root_cause,
        title="Schulung",
        due_date=timezone.localdate() - dt.timedelta(days=3),
    )
    services.improvement_action_create(
        actor=sam, root_cause=root_cause, title="Fertig", status="done"
    )
    client = client_for(sam)
    page = client.get("/cases/improvement-actions/").text
    assert "Schulung" in page
    assert "Fertig" in page
    assert f'class="table-danger" data-action="{late.pk}"' in page
    done_only = client.get("/cases/improvement-actions/", {"status": "done"}).text
    assert "Schulung" not in done_only
    overdue = client.get("/cases/improvement-actions/", {"overdue": "1"}).text
    assert "Fertig" not in overdue


def test_case_page_links_its_root_cause_which_shows_actions(case, sam, root_cause):
    from kreis.service import services as cases

    cases.case_transition(actor=sam, case=case, to_status="in_progress")
    cases.case_transition(actor=sam, case=case, to_status="resolved", root_cause=root_cause)
    services.improvement_action_create(actor=sam, root_cause=root_cause, title="Prüfstand")
    client = client_for(sam)
    assert f"/cases/root-causes/{root_cause.pk}/" in client.get(f"/cases/{case.pk}/").text
    page = client.get(f"/cases/root-causes/{root_cause.pk}/").text
    assert "Prüfstand" in page
    assert 'data-chart-json="root-cause-trend"' in page


def test_sales_rep_and_read_only_user_may_read_but_not_plan(alice, rory, sam, root_cause, api):
    action = services.improvement_action_create(actor=sam, root_cause=root_cause, title="Audit")
    form = {"root_cause": root_cause.pk, "title": "X", "status": "planned"}
    for user in (alice, rory):
        client = client_for(user)
        assert client.get("/cases/improvement-actions/").status_code == 200
        assert client.post("/cases/improvement-actions/new/", form).status_code == 403
        edit = f"/cases/improvement-actions/{action.pk}/edit/"
        assert client.post(edit, form).status_code == 403
    refused = api(alice)(
        "post", "/improvement-actions", {"root_cause_id": root_cause.pk, "title": "X"}
    )
    assert refused.status_code == 403
    assert ImprovementAction.objects.count() == 1
    assert ImprovementAction.objects.get().title == "Audit"


def test_api_creates_reads_the_effect_and_changes_an_action(sam, root_cause, api):
    call = api(sam)
    created = call(
        "post", "/improvement-actions", {"root_cause_id": root_cause.pk, "title": "Checkliste"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner_id"] == sam.pk
    assert body["effect"]["days"] == 0
    detail = call("get", f"/improvement-actions/{body['id']}")
    assert detail.headers["ETag"]
    done = call("patch", f"/improvement-actions/{body['id']}", {"status": "done"}).json()
    assert done["effective_on"] == timezone.localdate().isoformat()
    listed = call("get", "/improvement-actions", {"status": "done"}).json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
