"""Forwarding a case to a supplier: the e-mail in the supplier's language, the request and the
internal note, the answer recorded later, the "waiting for the supplier" filter."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from kreis.parties.models import Address
from kreis.parties.services import party_create
from kreis.service.models import CaseMessage, SupplierRequest
from kreis.service.processing import services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_forward_form_is_prefilled_from_the_case(case, sam, supplier):
    page = client_for(sam).get(f"/cases/{case.pk}/supplier/")
    assert page.status_code == 200
    assert case.number in page.text
    assert "Die Dichtung der Pumpe P-200 leckt." in page.text
    assert "Dichtungswerk AG" in page.text


def test_forwarding_sends_the_mail_in_german_and_records_request_and_note(
    case, sam, supplier, django_capture_on_commit_callbacks
):
    Address.objects.create(party=supplier, street="Werkstr. 1", city="Ulm", country="DE")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(sam).post(
            f"/cases/{case.pk}/supplier/",
            {"supplier": supplier.pk, "message": "Bitte Dichtung prüfen."},
        )
    assert response.status_code == 302
    request = SupplierRequest.objects.get()
    assert (request.supplier, request.sent_to, request.sent_by, request.status) == (
        supplier,
        "reklamation@dichtungswerk.example",
        sam,
        "open",
    )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["reklamation@dichtungswerk.example"]
    assert case.number in sent.subject
    assert "Bitte Dichtung prüfen." in sent.body
    assert "Sehr geehrte Damen und Herren" in sent.body  # the supplier is in Germany
    note = CaseMessage.objects.get(case=case, kind="internal_note")
    assert "Dichtungswerk AG" in note.body
    assert "Bitte Dichtung prüfen." in note.body
    page = client_for(sam).get(f"/cases/{case.pk}/").text
    assert "Waiting for the supplier" in page


def test_a_supplier_abroad_is_written_to_in_english(
    case, sam, supplier, django_capture_on_commit_callbacks
):
    Address.objects.create(party=supplier, street="Main St 1", city="Leeds", country="GB")
    with django_capture_on_commit_callbacks(execute=True):
        services.supplier_request_create(actor=sam, case=case, supplier=supplier, message="Check")
    assert "Our case number" in mail.outbox[0].body


def test_a_party_without_the_supplier_role_is_refused_clearly(case, sam, alice, dana):
    other = party_create(actor=alice, kind="organization", name="Kein Lieferant GmbH")
    response = client_for(sam).post(
        f"/cases/{case.pk}/supplier/", {"supplier": other.pk, "message": "Hallo"}
    )
    assert response.status_code == 200  # not offered in the form at all
    # Through the service the error names the party for whoever may see it ...
    with pytest.raises(ValidationError, match="Kein Lieferant GmbH is not a supplier"):
        services.supplier_request_create(actor=dana, case=case, supplier=other, message="Hallo")
    # ... and keeps the name of a party the agent may not open to itself.
    with pytest.raises(ValidationError, match="This party is not a supplier.") as refused:
        services.supplier_request_create(actor=sam, case=case, supplier=other, message="Hallo")
    assert "Kein Lieferant" not in str(refused.value)
    api = client_for(sam).post(
        f"/api/v1/cases/{case.pk}/supplier-requests",
        {"supplier_id": other.pk},
        content_type="application/json",
    )
    assert api.status_code == 422
    assert "Kein Lieferant" not in api.text
    assert not SupplierRequest.objects.exists()


def test_answer_is_recorded_with_time_and_who(case, sam, sue, supplier):
    request = services.supplier_request_create(
        actor=sam, case=case, supplier=supplier, message="Bitte prüfen"
    )
    response = client_for(sue).post(
        f"/cases/{case.pk}/supplier/{request.pk}/answer/", {"answer": "Ersatz kommt Montag."}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.answer, request.answer_recorded_by) == (
        "answered",
        "Ersatz kommt Montag.",
        sue,
    )
    assert request.answered_at is not None
    assert CaseMessage.objects.filter(body__contains="Ersatz kommt Montag.").exists()
    again = client_for(sue).post(
        f"/cases/{case.pk}/supplier/{request.pk}/answer/", {"answer": "Noch mal"}, follow=True
    )
    assert "no longer open" in again.text


def test_case_list_filters_cases_waiting_for_a_supplier(case, sam, supplier, alice, defect):
    from kreis.service import services as cases

    other = cases.case_create(
        actor=alice, party=case.party, channel="email", category=defect, subject="Anderes"
    )
    services.supplier_request_create(actor=sam, case=case, supplier=supplier, message="Bitte")
    client = client_for(sam)
    waiting = client.get("/cases/", {"supplier": "1"}).text
    assert case.number in waiting
    assert other.number not in waiting
    assert "waiting for the supplier" in client.get("/cases/").text


def test_others_cannot_forward_or_answer(case, sam, otto, alice, supplier, api):
    form = {"supplier": supplier.pk, "message": "x"}
    assert client_for(otto).post(f"/cases/{case.pk}/supplier/", form).status_code == 404
    assert client_for(alice).post(f"/cases/{case.pk}/supplier/", form).status_code == 403
    request = services.supplier_request_create(actor=sam, case=case, supplier=supplier, message="m")
    url = f"/cases/{case.pk}/supplier/{request.pk}/answer/"
    assert client_for(otto).post(url, {"answer": "a"}).status_code == 404
    assert client_for(alice).post(url, {"answer": "a"}).status_code == 403
    created = api(alice)(
        "post", f"/cases/{case.pk}/supplier-requests", {"supplier_id": supplier.pk}
    )
    assert created.status_code == 404
    assert SupplierRequest.objects.count() == 1


def test_api_forwards_with_the_case_text_and_records_the_answer(case, sam, supplier, api):
    call = api(sam)
    created = call("post", f"/cases/{case.pk}/supplier-requests", {"supplier_id": supplier.pk})
    assert created.status_code == 201, created.content
    body = created.json()
    assert case.number in body["message"]
    assert body["status"] == "open"
    answered = call(
        "post",
        f"/cases/{case.pk}/supplier-requests/{body['id']}/answer",
        {"answer": "Wir tauschen."},
    ).json()
    assert (answered["status"], answered["answer_recorded_by_id"]) == ("answered", sam.pk)
    assert call("get", "/cases", {"waiting_for_supplier": "true"}).json()["count"] == 0
