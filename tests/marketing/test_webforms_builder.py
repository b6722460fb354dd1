"""The form builder and the staff pages of web forms: who builds what, what a form must have,
moving rows with the keyboard, the list, the detail with submissions and snippets; the API
and the CLI."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from kreis.core.models import CustomField, Role
from kreis.marketing.models import FormSubmission, LeadForm
from kreis.marketing.webforms import services
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def molly(north):
    user = UserFactory(username="molly", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


def builder_post(**extra):
    data = {
        "action": "save",
        "name": "Trade fair",
        "key": "fair",
        "language": "de",
        "title": "Messe",
        "lead_source": "fair form",
        "is_active": "on",
        "rows": "3",
        "row-0-key": "first_name",
        "row-1-key": "last_name",
        "row-1-required": "on",
        "row-2-key": "email",
        "row-2-required": "on",
        "row-2-label": "Ihre E-Mail",
        "consent_purposes": ["newsletter"],
        "allowed_origins": "https://www.shop.example/\n",
    }
    data.update(extra)
    return data


def test_marketing_builds_a_form_with_fields_consents_and_origins(molly):
    client = client_for(molly)
    assert client.get(reverse("marketing:webforms:create")).status_code == 200
    response = client.post(reverse("marketing:webforms:create"), builder_post())
    form = LeadForm.objects.get(key="fair")
    assert response.status_code == 302
    assert [r["key"] for r in form.fields] == ["first_name", "last_name", "email"]
    assert form.fields[2] == {"key": "email", "label": "Ihre E-Mail", "required": True}
    assert form.consent_purposes == ["newsletter"]
    assert form.origins() == ["https://www.shop.example"]
    assert form.owner == molly


def test_a_form_without_a_required_last_name_is_refused_and_input_kept(molly):
    response = client_for(molly).post(
        reverse("marketing:webforms:create"),
        builder_post(**{"row-1-required": "", "title": "Meine Messe"}),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Every lead needs a last name" in html
    assert 'value="Meine Messe"' in html
    assert not LeadForm.objects.exists()


def test_advertising_consent_needs_a_required_email_and_origins_must_be_origins(molly):
    response = client_for(molly).post(
        reverse("marketing:webforms:create"),
        builder_post(**{"row-2-required": "", "allowed_origins": "www.shop.example/page"}),
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "double opt-in" in html
    assert "is not a website origin" in html


def test_a_required_custom_lead_field_must_be_on_the_form(molly):
    CustomField.objects.create(
        entity="lead", key="region", label="Region code", type="text", required=True
    )
    response = client_for(molly).post(reverse("marketing:webforms:create"), builder_post())
    assert response.status_code == 422
    assert "Region code" in response.content.decode()


def test_rows_move_up_and_down_are_removed_and_added_without_saving(molly):
    client = client_for(molly)
    url = reverse("marketing:webforms:create")
    moved = client.post(url, builder_post(action="up:2")).content.decode()
    assert moved.index('value="email"') < moved.index('value="last_name"')
    removed = client.post(url, builder_post(action="remove:0")).content.decode()
    assert 'name="row-0-key" value="last_name"' in removed
    added = client.post(url, builder_post(action="add", new_field="company")).content.decode()
    assert 'name="row-3-key" value="company"' in added
    assert not LeadForm.objects.exists()
    # The preview shows the consent text of the chosen language.
    assert "Newsletter per E-Mail" in added


def test_a_sales_rep_cannot_build_or_see_forms(alice):
    client = client_for(alice)
    assert client.get(reverse("marketing:webforms:list")).status_code == 403
    assert client.get(reverse("marketing:webforms:create")).status_code == 403


def test_another_marketing_user_cannot_edit_a_form_of_a_foreign_owner(molly, south):
    other = UserFactory(username="otto", role=Role.MARKETING)
    MembershipFactory(team=south, user=other)
    form = services.form_create(actor=other, name="Other", key="other")
    client = client_for(molly)
    assert client.get(reverse("marketing:webforms:detail", args=[form.pk])).status_code == 200
    assert client.get(reverse("marketing:webforms:edit", args=[form.pk])).status_code == 403
    assert client.post(reverse("marketing:webforms:delete", args=[form.pk])).status_code == 403


def test_list_counts_submissions_and_detail_shows_them_with_snippets(molly, client):
    form = services.form_create(actor=molly, name="Contact", key="contact", language="en")
    services.submit(
        form,
        {"last_name": "Kraus", "email": "kim@kraus.example"},
        ip="10.0.0.1",
        user_agent="UA",
        page_url="https://www.shop.example/",
        referrer="https://search.example/",
        utm={"utm_source": "newsletter"},
    )
    staff = client_for(molly)
    listing = staff.get(reverse("marketing:webforms:list")).content.decode()
    assert "Contact" in listing
    assert "/f/contact/" in listing
    detail = staff.get(reverse("marketing:webforms:detail", args=[form.pk])).content.decode()
    assert "kim@kraus.example" in detail
    assert "source: newsletter" in detail
    assert "https://search.example/" in detail
    assert "/f/contact/embed.js" in detail
    assert "&lt;iframe" in detail
    export = staff.get(reverse("marketing:webforms:export", args=[form.pk]))
    assert b"kim@kraus.example" in b"".join(export.streaming_content)


def test_api_crud_and_submissions(molly, api_key_for):
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(molly)}")
    created = api.post(
        "/api/v1/marketing/forms",
        {
            "name": "API form",
            "key": "api-form",
            "language": "en",
            "fields": [
                {"key": "last_name", "required": True},
                {"key": "email", "required": True},
            ],
            "allowed_origins": ["https://www.shop.example"],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    form_id = created.json()["id"]
    assert created.json()["allowed_origins"] == ["https://www.shop.example"]
    bad = api.patch(
        f"/api/v1/marketing/forms/{form_id}",
        {"fields": [{"key": "email"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    changed = api.patch(
        f"/api/v1/marketing/forms/{form_id}", {"title": "Hello"}, content_type="application/json"
    )
    assert changed.json()["title"] == "Hello"
    form = LeadForm.objects.get(pk=form_id)
    services.submit(
        form,
        {"last_name": "Kraus", "email": "kim@kraus.example"},
        ip=None,
        user_agent="",
        page_url="",
        referrer="",
        utm={},
    )
    listed = api.get(f"/api/v1/marketing/forms/{form_id}/submissions").json()
    assert listed["items"][0]["data"]["email"] == "kim@kraus.example"
    assert api.delete(f"/api/v1/marketing/forms/{form_id}").status_code == 204
    assert not FormSubmission.objects.exists()


def test_api_refuses_a_sales_rep(alice, api_key_for):
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}")
    assert api.get("/api/v1/marketing/forms").status_code == 403


def test_cli_lists_forms_and_exports_submissions(molly):
    form = services.form_create(actor=molly, name="Contact", key="contact")
    services.submit(
        form,
        {"last_name": "Kraus", "email": "kim@kraus.example"},
        ip=None,
        user_agent="",
        page_url="",
        referrer="",
        utm={"utm_campaign": "spring"},
    )
    out = io.StringIO()
    call_command("marketing", "forms", "list", stdout=out)
    assert "contact" in out.getvalue()
    assert "1" in out.getvalue()
    out = io.StringIO()
    call_command("marketing", "forms", "submissions", "contact", "--json", stdout=out)
    assert json.loads(out.getvalue())[0]["utm_campaign"] == "spring"
    out = io.StringIO()
    call_command("marketing", "forms", "export", "contact", "--since", "2000-01-01", stdout=out)
    assert "kim@kraus.example" in out.getvalue()
