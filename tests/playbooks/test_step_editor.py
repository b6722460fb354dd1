"""The step editor shows the offer's fields for the offer kind only (a small script; the server
ignores them for the other kinds), and the playbook page's parties fit a phone."""

import pytest
from django.urls import reverse

from kreis.playbooks import services
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_the_editor_marks_the_offer_fields_and_loads_the_script(retention, dana):
    client = client_for(dana)
    step = retention.steps.get(action="task")
    for url in (
        reverse("playbooks:step_edit", args=[retention.pk, step.pk]),
        reverse("playbooks:detail", args=[retention.pk]),
    ):
        html = client.get(url).content.decode()
        assert "playbooks/steps.js" in html
        assert "data-step-form" in html
        assert 'data-step-action=""' in html
        assert html.count("data-offer-only") == 3  # products, months, send by e-mail
        # Without the script the fields are there and usable (no hidden attribute by default).
        assert "data-offer-only hidden" not in html


def test_another_kind_ignores_the_offer_fields_whatever_was_sent(retention, dana):
    step = retention.steps.get(action="task")
    response = client_for(dana).post(
        reverse("playbooks:step_edit", args=[retention.pk, step.pk]),
        {
            "action": "task",
            "delay_days": "0",
            "due_days": "2",
            "title_de": "Prüfen",
            "title_en": "Review",
            "offer_products": "0",  # out of range, but hidden for a task: not an error
            "offer_months": "abc",
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.title_en, step.offer_products, step.offer_months) == ("Review", 3, 24)


def test_the_offer_kind_still_validates_them_on_the_server(retention, dana):
    step = retention.steps.get(action="offer")
    url = reverse("playbooks:step_edit", args=[retention.pk, step.pk])
    data = {
        "action": "offer",
        "delay_days": "0",
        "due_days": "2",
        "title_de": "Angebot",
        "title_en": "Offer",
        "offer_products": "11",
        "offer_months": "12",
    }
    bad = client_for(dana).post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code in (200, 400)
    assert "less than or equal to 10" in bad.content.decode()
    data["offer_products"] = "5"
    assert client_for(dana).post(url, data).status_code == 302
    step.refresh_from_db()
    assert (step.offer_products, step.offer_months) == (5, 12)


def test_each_party_cell_carries_its_label_for_the_phone_layout(retention, dana, alice):
    party = OrganizationFactory(name="Müller Feinmechanik GmbH", owner=alice)
    services.start_for_parties(retention, [party.pk], source="test")
    html = (
        client_for(dana)
        .get(reverse("playbooks:detail", args=[retention.pk]), HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "playbooks/playbooks.css" in html
    assert 'class="table table-hover align-middle mb-0 enrollment-list"' in html
    for label in ("Status", "Step reached", "Entered", "Next step", "Offer", "Owner"):
        assert f'data-label="{label}"' in html
