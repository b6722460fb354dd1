"""The staff pages and /api/v1/cases: what agents, reps and managers see and may do."""

import json

import pytest
from django.core import mail
from django.test import Client

from kreis.core.search import search_all
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.models import AssignmentRule, Case, CaseMessage
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice):
    return party_create(
        actor=alice,
        kind="organization",
        name="Pumpen Schulz GmbH",
        emails=[{"value": "service@schulz.example"}],
    )


@pytest.fixture
def case(alice, sam, customer, defect):
    AssignmentRule.objects.create(position=1, name="Defects", category=defect, assign_user=sam)
    return services.case_create(
        actor=alice,
        party=customer,
        channel="phone",
        category=defect,
        subject="Pumpe undicht",
        severity="critical",
        language="de",
    )


def _api(user, api_key_for):
    key = api_key_for(user)

    def call(method, path, data=None):
        client = Client()
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        if method == "get":
            return client.get(f"/api/v1{path}", data or {}, **kwargs)
        return getattr(client, method)(
            f"/api/v1{path}", json.dumps(data or {}), content_type="application/json", **kwargs
        )

    return call


def test_agent_sees_the_case_on_list_and_page_with_its_due_date(case, sam):
    client = client_for(sam)
    page = client.get("/cases/")
    assert page.status_code == 200
    assert case.number in page.text
    detail = client.get(f"/cases/{case.pk}/")
    assert detail.status_code == 200
    assert "Pumpe undicht" in detail.text
    assert "Mark as" in detail.text  # the next steps are offered


def test_list_filters_by_status_severity_and_overdue(case, sam, alice, customer, defect):
    other = services.case_create(
        actor=alice,
        party=customer,
        channel="email",
        category=defect,
        subject="Rechnung",
        severity="low",
    )
    client = client_for(sam)
    assert other.number not in client.get("/cases/?severity=critical").text
    assert case.number in client.get("/cases/?severity=critical").text
    assert case.number not in client.get("/cases/?status=closed").text
    Case.objects.filter(pk=other.pk).update(ack_due_at="2020-01-01T00:00:00Z")
    overdue = client.get("/cases/?overdue=1").text
    assert other.number in overdue
    assert case.number not in overdue
    assert "table-danger" in overdue


def test_agent_of_another_team_gets_404(case, otto):
    client = client_for(otto)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert case.number not in client.get("/cases/").text
    response = client.post(f"/cases/{case.pk}/note/", {"body": "Hallo"})
    assert response.status_code == 404
    assert not CaseMessage.objects.filter(body="Hallo").exists()


def test_the_rep_of_the_customer_reads_but_does_not_handle_the_case(case, alice, bob):
    # alice's customer, the case owned by sam of Support North: she sees it, bob too (her team).
    for user in (alice, bob):
        client = client_for(user)
        assert client.get(f"/cases/{case.pk}/").status_code == 200
        assert client.post(f"/cases/{case.pk}/note/", {"body": "x"}).status_code == 404


def test_a_transition_button_moves_the_case_and_records_it(case, sam):
    client = client_for(sam)
    response = client.post(f"/cases/{case.pk}/transition/", {"to_status": "in_progress"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "in_progress"
    page = client.get(f"/cases/{case.pk}/").text
    assert "Received → " in page or "In progress" in page
    assert case.transitions.last().actor == sam


def test_internal_note_is_marked_on_the_page_and_absent_from_customer_mail(
    case, sam, django_capture_on_commit_callbacks
):
    client = client_for(sam)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cases/{case.pk}/note/", {"body": "Kulanz bis 50 EUR"})
        client.post(f"/cases/{case.pk}/reply/", {"body": "Wir melden uns morgen."})
    page = client.get(f"/cases/{case.pk}/").text
    assert "Internal note — not visible to the customer" in page
    assert "Kulanz bis 50 EUR" in page
    assert [m.body.split("\n")[0] for m in mail.outbox] == ["Wir melden uns morgen."]
    assert all("Kulanz" not in m.body for m in mail.outbox)


def test_staff_enter_a_phone_complaint_of_a_new_caller(alice, sam, defect):
    client = client_for(alice)
    assert client.get("/cases/new/").status_code == 200
    response = client.post(
        "/cases/new/",
        {
            "sender_name": "Herbert Anrufer",
            "sender_phone": "+49 30 555 0101",
            "channel": "phone",
            "category": defect.pk,
            "severity": "high",
            "subject": "Gerät brummt",
            "language": "de",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(subject="Gerät brummt")
    assert case.party.name == "Herbert Anrufer"
    assert case.owner == sam
    assert case.ack_due_at is not None


def test_the_form_keeps_what_was_typed_on_an_error(alice, defect):
    response = client_for(alice).post(
        "/cases/new/", {"subject": "Ohne Kunde", "channel": "phone", "category": defect.pk}
    )
    assert response.status_code == 200
    assert "Ohne Kunde" in response.text
    assert "give the sender" in response.text
    assert not Case.objects.exists()


def test_party_page_card_lists_the_partys_cases(case, alice, customer, charlie):
    assert case.number in client_for(alice).get(f"/cases/party/{customer.pk}/").text
    assert client_for(charlie).get(f"/cases/party/{customer.pk}/").status_code == 404


def test_cases_are_found_by_number_and_subject(case, sam, otto):
    assert [h.title for h in search_all(user=sam, text=case.number)][0].startswith(case.number)
    assert any("Pumpe" in h.title for h in search_all(user=sam, text="Pumpe undicht"))
    assert not any(case.number in h.title for h in search_all(user=otto, text=case.number))


def test_api_roundtrip(sam, alice, customer, defect, root_cause, api_key_for):
    api = _api(sam, api_key_for)
    created = api(
        "post",
        "/cases",
        {
            "party_id": customer.pk,
            "category_id": defect.pk,
            "subject": "Motor defekt",
            "severity": "high",
            "channel": "api",
        },
    )
    # sam may not see alice's customer himself: the party is not his to pick.
    assert created.status_code == 404
    api = _api(alice, api_key_for)
    created = api(
        "post",
        "/cases",
        {"party_id": customer.pk, "category_id": defect.pk, "subject": "Motor defekt"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"].startswith("C-")
    assert body["owner_id"] == sam.pk
    case_id = body["id"]
    sam_api = _api(sam, api_key_for)
    assert sam_api("get", f"/cases/{case_id}").json()["status"] == "received"
    moved = sam_api("post", f"/cases/{case_id}/transition", {"to_status": "in_progress"})
    assert moved.json()["status"] == "in_progress"
    refused = sam_api("post", f"/cases/{case_id}/transition", {"to_status": "resolved"})
    assert refused.status_code == 422
    assert "root cause" in refused.json()["errors"][0]["message"]
    assert sam_api("post", f"/cases/{case_id}/notes", {"body": "intern"}).status_code == 201
    assert sam_api("post", f"/cases/{case_id}/replies", {"body": "an Kunde"}).status_code == 201
    visible = sam_api("get", f"/cases/{case_id}/messages", {"customer_visible": "true"}).json()
    assert "intern" not in [m["body"] for m in visible]
    assert "an Kunde" in [m["body"] for m in visible]
    resolved = sam_api(
        "post",
        f"/cases/{case_id}/transition",
        {"to_status": "resolved", "root_cause_id": root_cause.pk},
    )
    assert resolved.json()["root_cause_id"] == root_cause.pk
    transitions = sam_api("get", f"/cases/{case_id}/transitions").json()
    assert [t["to_status"] for t in transitions] == ["received", "in_progress", "resolved"]
    listed = sam_api("get", "/cases", {"status": "resolved"}).json()
    assert [c["id"] for c in listed["items"]] == [case_id]


def test_api_hides_cases_from_agents_of_other_teams(case, otto, api_key_for):
    api = _api(otto, api_key_for)
    assert api("get", f"/cases/{case.pk}").status_code == 404
    assert api("post", f"/cases/{case.pk}/notes", {"body": "x"}).status_code == 404
    assert api("get", "/cases").json()["items"] == []


def test_managers_see_every_case(case, mia, api_key_for):
    assert _api(mia, api_key_for)("get", f"/cases/{case.pk}").status_code == 200


def test_new_case_from_the_party_page_has_the_customer_filled_in(alice, customer):
    party_page = client_for(alice).get(f"/parties/{customer.pk}/").text
    assert f"/cases/new/?party={customer.pk}" in party_page
    form = client_for(alice).get(f"/cases/new/?party={customer.pk}").text
    assert f"Pumpen Schulz GmbH (#{customer.pk})" in form


def test_the_agent_sees_who_complains_but_no_link_to_a_record_he_may_not_open(
    case, sam, alice, customer, api_key_for
):
    page = client_for(sam).get(f"/cases/{case.pk}/").text
    assert "Pumpen Schulz GmbH" in page
    assert f'href="/parties/{customer.pk}/"' not in page
    assert f'href="/parties/{customer.pk}/"' in client_for(alice).get(f"/cases/{case.pk}/").text
    assert _api(sam, api_key_for)("get", f"/cases/{case.pk}").json()["party_name"] == (
        "Pumpen Schulz GmbH"
    )
