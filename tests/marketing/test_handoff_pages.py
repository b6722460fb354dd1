"""Handoff pages, API and CLI: who sees which handoffs, the rules editor, "Hand off now",
the compliance report's numbers, the settings."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from kreis.core.models import Role
from kreis.leads.models import LeadStatus
from kreis.marketing.handoff import queries, services
from kreis.marketing.models import (
    HandoffStatus,
    LeadAssignmentRule,
    LeadHandoff,
    MarketingSettings,
)
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def mara(db):
    return UserFactory(username="mara", first_name="Mara", last_name="Merz", role=Role.MARKETING)


@pytest.fixture
def south_manager(south):
    user = UserFactory(username="sam", role=Role.SALES_MANAGER)
    MembershipFactory(team=south, user=user, is_manager=True)
    return user


def handoff_to(user, team, *, now=T0, **lead):
    rule = LeadAssignmentRule.objects.create(name=f"only {user.username}", team=team)
    rule.users.set([user])
    handoff = services.hand_off(LeadFactory(team=team, **lead), now=now)
    rule.delete()
    return handoff


def test_rep_sees_only_his_own_handoffs(alice, bob, charlie, north, south):
    mine = handoff_to(alice, north, last_name="Mine")
    handoff_to(bob, north, last_name="Teammate")
    handoff_to(charlie, south, last_name="Other")
    page = client_for(alice).get("/marketing/handoff/").content.decode()
    assert "Mine" in page
    assert "Teammate" not in page
    assert "Other" not in page
    api = client_for(alice).get("/api/v1/marketing/handoffs").json()
    assert [h["id"] for h in api["items"]] == [mine.pk]


def test_the_reason_shows_in_the_readers_language_on_pages_and_in_the_api(alice, mara, north):
    from django.utils import translation

    with translation.override("de"):  # handed off by a German user's request
        handoff = handoff_to(alice, north, last_name="Grund")
    greta = UserFactory(username="greta", role=Role.MARKETING, language="de")
    english = client_for(mara).get("/marketing/handoff/").content.decode()
    assert "Rule “only alice” — any lead; round-robin" in english
    german = client_for(greta).get("/marketing/handoff/").content.decode()
    assert "Regel „only alice“ — jeder Lead; reihum" in german
    MembershipFactory(team=north, user=greta)  # marketing sees the lead through the team
    panel = client_for(greta).get(f"/marketing/handoff/leads/{handoff.lead_id}/").content.decode()
    assert "Regel „only alice“ — jeder Lead; reihum" in panel

    item = client_for(mara).get("/api/v1/marketing/handoffs").json()["items"][0]
    assert item["reason_code"] == "rule"
    assert item["reason_params"] == {"rule": "only alice"}
    assert item["reason"] == "Rule “only alice” — any lead; round-robin"
    item = (
        client_for(mara)
        .get("/api/v1/marketing/handoffs", headers={"Accept-Language": "de"})
        .json()["items"][0]
    )
    assert item["reason"] == "Regel „only alice“ — jeder Lead; reihum"

    # Stored before reason codes: the text as it was, no code.
    LeadHandoff.objects.filter(pk=handoff.pk).update(reason="Früher gespeicherter Grund")
    assert (
        "Früher gespeicherter Grund" in client_for(mara).get("/marketing/handoff/").content.decode()
    )
    item = client_for(mara).get("/api/v1/marketing/handoffs").json()["items"][0]
    assert (item["reason_code"], item["reason_params"]) == (None, {})
    assert item["reason"] == "Früher gespeicherter Grund"


def test_manager_sees_his_teams_and_marketing_all(alice, charlie, mia, mara, north, south):
    handoff_to(alice, north, last_name="Nordmann")
    handoff_to(charlie, south, last_name="Suedmann")
    manager_page = client_for(mia).get("/marketing/handoff/").content.decode()
    assert "Nordmann" in manager_page
    assert "Suedmann" not in manager_page
    marketing_page = client_for(mara).get("/marketing/handoff/").content.decode()
    assert "Nordmann" in marketing_page
    assert "Suedmann" in marketing_page


def test_overdue_handoff_is_highlighted_and_filtered(alice, north, mara):
    handoff_to(alice, north, now=timezone.now() - timedelta(hours=30), last_name="Spaet")
    handoff_to(alice, north, now=timezone.now(), last_name="Frisch")
    client = client_for(mara)
    page = client.get("/marketing/handoff/").content.decode()
    assert "table-danger" in page
    assert "overdue by" in page
    overdue = client.get("/marketing/handoff/?overdue=1").content.decode()
    assert "Spaet" in overdue
    assert "Frisch" not in overdue
    api = client.get("/api/v1/marketing/handoffs?overdue=true").json()
    assert [h["lead_name"] for h in api["items"]] == [
        str(LeadHandoff.objects.get(lead__last_name="Spaet").lead)
    ]


def test_service_agent_has_no_handoff_pages(db):
    agent = UserFactory(role=Role.SERVICE_AGENT)
    assert client_for(agent).get("/marketing/handoff/").status_code == 404
    assert client_for(agent).get("/marketing/handoff/report/").status_code == 404


def test_hand_off_now_from_the_lead_page(alice, mara, north):
    lead = LeadFactory(team=north, last_name="Jetzt", mql_at=timezone.now())
    MembershipFactory(team=north, user=mara)  # marketing sees the lead through the team
    client = client_for(mara)
    panel = client.get(f"/marketing/handoff/leads/{lead.pk}/").content.decode()
    assert "Hand off now" in panel
    response = client.post(f"/marketing/handoff/leads/{lead.pk}/hand-off/", follow=True)
    assert "Handed off to Alice Adler" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == alice
    panel = client.get(f"/marketing/handoff/leads/{lead.pk}/").content.decode()
    assert "Hand off now" not in panel
    assert "Handed to Alice Adler" in panel


def test_rep_cannot_hand_off(alice, bob, north):
    lead = LeadFactory(team=north, owner=alice)
    response = client_for(alice).post(f"/marketing/handoff/leads/{lead.pk}/hand-off/")
    assert response.status_code == 404
    assert not LeadHandoff.objects.exists()
    api = client_for(alice).post(f"/api/v1/leads/{lead.pk}/hand-off")
    assert api.status_code == 404


def test_manager_hands_off_only_his_teams_leads(alice, charlie, mia, north, south):
    ours = LeadFactory(team=north)
    theirs = LeadFactory(team=south)
    client = client_for(mia)
    assert client.post(f"/api/v1/leads/{ours.pk}/hand-off").status_code == 201
    assert client.post(f"/api/v1/leads/{theirs.pk}/hand-off").status_code == 404


def test_waiting_qualified_leads_are_listed_for_marketing(alice, mara):
    LeadFactory(last_name="Wartend", mql_at=timezone.now())
    page = client_for(mara).get("/marketing/handoff/").content.decode()
    assert "Qualified leads waiting for a rep" in page
    assert "Wartend" in page


def test_rules_editor_creates_and_reorders(alice, bob, mara, north):
    client = client_for(mara)
    response = client.post(
        "/marketing/handoff/rules/new/",
        {"name": "DACH", "position": "10", "territory": " DE ", "users": [alice.pk, bob.pk]},
    )
    assert response.status_code == 302
    dach = LeadAssignmentRule.objects.get(name="DACH")
    assert dach.territory == "DE"
    assert set(dach.users.all()) == {alice, bob}
    client.post(
        "/marketing/handoff/rules/new/", {"name": "Rest", "position": "20", "team": north.pk}
    )
    rest = LeadAssignmentRule.objects.get(name="Rest")
    client.post(f"/marketing/handoff/rules/{rest.pk}/move/", {"direction": "up"})
    assert list(LeadAssignmentRule.objects.values_list("name", flat=True)) == ["Rest", "DACH"]
    page = client.get("/marketing/handoff/rules/").content.decode()
    assert page.index(f'id="rule-{rest.pk}"') < page.index(f'id="rule-{dach.pk}"')


def test_rule_without_anyone_is_refused_and_keeps_the_input(mara):
    response = client_for(mara).post(
        "/marketing/handoff/rules/new/", {"name": "Leer", "position": "5", "territory": "AT"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pick users or a team" in html
    assert 'value="AT"' in html
    assert not LeadAssignmentRule.objects.exists()


def test_manager_reads_rules_but_cannot_change_them(mia, north):
    rule = LeadAssignmentRule.objects.create(name="North", team=north)
    client = client_for(mia)
    assert client.get("/marketing/handoff/rules/").status_code == 200
    assert client.get(f"/marketing/handoff/rules/{rule.pk}/edit/").status_code == 404
    assert client.post(f"/marketing/handoff/rules/{rule.pk}/delete/").status_code == 404
    assert client.delete(f"/api/v1/marketing/handoff/rules/{rule.pk}").status_code == 404
    assert LeadAssignmentRule.objects.filter(pk=rule.pk).exists()


def test_rules_api_crud(alice, north, mara):
    client = client_for(mara)
    created = client.post(
        "/api/v1/marketing/handoff/rules",
        json.dumps({"name": "EN", "language": "en", "user_ids": [alice.pk], "workload_cap": 5}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["user_ids"] == [alice.pk]
    changed = client.patch(
        f"/api/v1/marketing/handoff/rules/{rule_id}",
        json.dumps({"workload_cap": 3}),
        content_type="application/json",
    )
    assert changed.json()["workload_cap"] == 3
    bad = client.post(
        "/api/v1/marketing/handoff/rules",
        json.dumps({"name": "Nobody"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert client.delete(f"/api/v1/marketing/handoff/rules/{rule_id}").status_code == 204
    assert not LeadAssignmentRule.objects.exists()


def _decided(user, team, status, hours_to_contact=None):
    handoff = handoff_to(user, team)
    values = {"status": status}
    if hours_to_contact is not None:
        values["first_contact_at"] = handoff.assigned_at + timedelta(hours=hours_to_contact)
    LeadHandoff.objects.filter(pk=handoff.pk).update(**values)


def test_compliance_report_numbers(alice, bob, mia, north):
    _decided(alice, north, HandoffStatus.CONTACTED, 2)
    _decided(alice, north, HandoffStatus.CONTACTED, 4)
    _decided(alice, north, HandoffStatus.LATE, 30)
    _decided(alice, north, HandoffStatus.RECYCLED)
    _decided(bob, north, HandoffStatus.CONTACTED, 1)
    handoff_to(bob, north)  # open, not due yet at T0 + 1 h: not judged
    report = queries.compliance_report(
        user=mia, start=T0.date(), end=T0.date(), now=T0 + timedelta(hours=1)
    )
    rows = {r.name: r for r in report.reps}
    assert (rows["Alice Adler"].handoffs, rows["Alice Adler"].in_time) == (4, 2)
    assert (rows["Alice Adler"].late, rows["Alice Adler"].recycled) == (1, 1)
    assert rows["Alice Adler"].compliance == 50.0
    assert rows["Alice Adler"].median_hours == 4.0  # of 2, 4 and 30 hours
    assert rows["Bob Becker"].compliance == 100.0  # the open one is not judged yet
    assert [t.name for t in report.teams] == ["North"]
    assert report.teams[0].handoffs == 6
    assert report.total.compliance == 60.0  # 3 in time of 5 judged
    # Once Bob's open handoff is past due it counts against him.
    later = queries.compliance_report(
        user=mia, start=T0.date(), end=T0.date(), now=T0 + timedelta(hours=25)
    )
    assert {r.name: r for r in later.reps}["Bob Becker"].compliance == 50.0


def test_report_page_api_and_cli(alice, mia, north, charlie, south, rory):
    _decided(alice, north, HandoffStatus.CONTACTED, 2)
    _decided(charlie, south, HandoffStatus.LATE, 40)
    client = client_for(mia)
    page = client.get("/marketing/handoff/report/?start=2026-03-01&end=2026-03-03")
    html = page.content.decode()
    assert "Alice Adler" in html
    assert "Charlie Christ" not in html  # another team's rep
    assert "<svg" in html
    bad = client.get("/marketing/handoff/report/?start=2026-03-05&end=2026-03-01")
    assert bad.status_code == 400
    assert "must end on or after" in bad.content.decode()
    api = client.get("/api/v1/marketing/handoff/report?from=2026-03-01&to=2026-03-03").json()
    assert [r["name"] for r in api["reps"]] == ["Alice Adler"]
    assert api["total"]["compliance_percent"] == 100.0
    out = StringIO()
    call_command(
        "marketing",
        "handoff",
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-03",
        "--json",
        stdout=out,
    )
    cli = json.loads(out.getvalue())
    assert {r["name"] for r in cli["reps"]} == {"Alice Adler", "Charlie Christ"}
    assert cli["total"]["compliance_percent"] == 50.0


def test_cli_assign_and_check(alice):
    lead = LeadFactory()
    out = StringIO()
    call_command("marketing", "handoff", "assign", str(lead.pk), stdout=out)
    assert "alice" in out.getvalue()
    LeadHandoff.objects.filter(lead=lead).update(
        assigned_at=timezone.now() - timedelta(hours=30),
        due_at=timezone.now() - timedelta(hours=6),
    )
    out = StringIO()
    call_command("marketing", "handoff", "check", stdout=out)
    assert "1 escalated" in out.getvalue()


def test_settings_for_admins_only(dana, mara):
    assert client_for(mara).get("/marketing/handoff/settings/").status_code == 404
    client = client_for(dana)
    bad = client.post(
        "/marketing/handoff/settings/",
        {"first_contact_hours": "8", "reminder_percent": "120", "recycle_hours": "24"},
    )
    assert bad.status_code == 400
    assert 'value="8"' in bad.content.decode()
    client.post(
        "/marketing/handoff/settings/",
        {"first_contact_hours": "8", "reminder_percent": "50", "recycle_hours": "24"},
    )
    config = MarketingSettings.load()
    assert (config.first_contact_hours, config.reminder_percent, config.recycle_hours) == (
        8,
        50,
        24,
    )
    api = client.patch(
        "/api/v1/marketing/handoff/settings",
        json.dumps({"recycle_hours": 12}),
        content_type="application/json",
    )
    assert api.json() == {"first_contact_hours": 8, "reminder_percent": 50, "recycle_hours": 12}
    assert client_for(mara).get("/api/v1/marketing/handoff/settings").status_code == 403


def test_disqualified_lead_ends_the_wait(alice):
    lead = LeadFactory()
    handoff = services.hand_off(lead)
    from kreis.leads import services as lead_services

    lead_services.lead_set_status(
        actor=alice, lead=lead, status=LeadStatus.DISQUALIFIED, reason="spam"
    )
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.CONTACTED
