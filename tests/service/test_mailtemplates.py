"""An administrator's wording of the complaint e-mails: it wins over the shipped one in its
language, sees only the documented variables, and cannot read templates or settings."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from kreis.parties.services import party_create
from kreis.service import mail as service_mail
from kreis.service import mailtemplates, services
from kreis.service.models import MailTemplate
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

GERMAN_ACK = (
    "{% load i18n %}Moin {{ case.customer }},\n\nIhre Reklamation {{ case.number }} "
    "({{ case.category }}) ist da. Antwort bis {{ case.resolve_due_at|date:'d.m.Y' }}.\n"
)


@pytest.fixture
def customer(alice):
    return party_create(
        actor=alice,
        kind="organization",
        name="Pumpen Schulz GmbH",
        emails=[{"value": "service@schulz.example"}],
    )


def _case(alice, customer, category, language):
    return services.case_create(
        actor=alice,
        party=customer,
        category=category,
        channel="phone",
        subject="Pumpe undicht",
        severity="high",
        language=language,
    )


def _german_ack(**extra):
    template = MailTemplate(
        key="acknowledgement",
        language="de",
        subject="Reklamation {{ case.number }} angenommen",
        body=GERMAN_ACK,
        **extra,
    )
    template.full_clean()
    template.save()
    return template


def test_the_administrators_german_text_goes_to_a_german_customer(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    _german_ack()
    with django_capture_on_commit_callbacks(execute=True):
        case = _case(alice, customer, defect, "de")
    [sent] = mail.outbox
    assert sent.subject == f"Reklamation {case.number} angenommen"
    assert sent.body.startswith("Moin Pumpen Schulz GmbH,")
    assert f"Ihre Reklamation {case.number} (Produktmangel) ist da." in sent.body
    assert case.resolve_due_at.astimezone().strftime("%Y") in sent.body
    # The copy kept on the case is the text that was sent.
    assert case.messages.get(kind="customer_reply").body == sent.body


def test_an_english_customer_still_gets_the_shipped_text(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    _german_ack()
    with django_capture_on_commit_callbacks(execute=True):
        case = _case(alice, customer, defect, "en")
    [sent] = mail.outbox
    assert sent.subject == f"Your complaint {case.number}: Pumpe undicht"
    assert "thank you for your message" in sent.body


def test_an_inactive_template_is_not_used(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    _german_ack(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        case = _case(alice, customer, defect, "de")
    assert mail.outbox[0].subject == f"Ihre Reklamation {case.number}: Pumpe undicht"


def test_a_template_sees_values_not_the_objects_behind_them(alice, customer, defect):
    case = _case(alice, customer, defect, "de")
    subject, body = service_mail.preview(
        key="acknowledgement",
        language="de",
        subject="{{ case.number }}\n{{ case.subject }}",  # one header line
        body="[{{ case.owner.password }}][{{ case.party }}][{{ case.save }}][{{ settings }}]",
        case=case,
    )
    assert subject == f"{case.number} Pumpe undicht"
    assert body == "[][][][]"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{% include 'service/detail.html' %}", "{% include %}"),
        ("{% extends 'base.html' %}", "{% extends %}"),
        ("{% debug %}", "{% debug %}"),
        ("{% url 'service:list' %}", "{% url %}"),
        ("{% load static %}{% static 'x' %}", "{% load i18n %}"),
        ("{% if %}", "error"),
        ("{{ }}", "error"),
        ("{% endif %}", "error"),
    ],
)
def test_templates_that_could_read_more_or_break_are_refused(body, says):
    template = MailTemplate(key="reply", language="en", subject="Re", body=body)
    with pytest.raises(ValidationError) as refused:
        template.full_clean()
    assert says in refused.value.message_dict["body"][0]


def test_an_unknown_mail_is_refused_in_german_too():
    from django.utils import translation

    with translation.override("de"), pytest.raises(ValidationError) as refused:
        MailTemplate(key="newsletter", language="de", subject="x", body="y").full_clean()
    assert "Unbekannte E-Mail newsletter" in refused.value.message_dict["key"][0]


def test_the_shipped_wording_is_a_valid_own_template():
    for key in mailtemplates.MAIL_KEYS:
        subject = mailtemplates.shipped_source(key, "subject")
        body = mailtemplates.shipped_source(key, "body")
        assert subject, key
        assert body, key
        mailtemplates.validate_template(key=key, subject=subject, body=body)
        shipped = service_mail.preview(key=key, language="de")
        own = service_mail.preview(key=key, language="de", subject=subject, body=body)
        assert own[0] == shipped[0], key


def test_the_admin_shows_variables_shipped_wording_and_a_preview(dana):
    dana.is_staff = dana.is_superuser = True
    dana.save()
    template = _german_ack()
    page = client_for(dana).get(f"/django-admin/service/mailtemplate/{template.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "{{ case.resolve_due_at }}" in text  # the variables
    assert "blocktranslate with number=case.number" in text  # the shipped wording
    assert "Reklamation C-" in text  # the preview, rendered
    assert "angenommen" in text
    listing = client_for(dana).get("/django-admin/service/mailtemplate/")
    assert listing.status_code == 200


def test_an_administrator_who_is_no_superuser_finds_the_configuration_in_the_admin(dana):
    dana.is_staff = True  # as kreis createuser --role admin makes them
    dana.save()
    index = client_for(dana).get("/django-admin/").content.decode()
    for model in ("mailtemplate", "slapolicy", "assignmentrule", "casecategory", "rootcause"):
        assert f"/django-admin/service/{model}/" in index


def test_the_supplier_request_uses_the_administrators_wording(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    from kreis.service.processing.services import supplier_request_create

    supplier = party_create(
        actor=alice,
        kind="organization",
        name="Dichtungswerk AG",
        roles=["supplier"],
        emails=[{"value": "reklamation@dichtungswerk.example"}],
    )
    case = _case(alice, customer, defect, "de")
    for language in ("de", "en"):
        MailTemplate.objects.create(
            key="supplier_request",
            language=language,
            subject="{{ case.number }} an {{ supplier.name }}",
            body="{{ request.message }} ({{ case.customer }})",
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        supplier_request_create(actor=alice, case=case, supplier=supplier, message="Prüfen")
    [sent] = mail.outbox
    assert sent.subject == f"{case.number} an Dichtungswerk AG"
    assert sent.body == "Prüfen (Pumpen Schulz GmbH)"
