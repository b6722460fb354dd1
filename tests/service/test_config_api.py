"""The complaint configuration through the API: administrators (or whoever has the model
permissions) change categories, root causes, SLA policies, assignment rules and e-mail
templates; bad input is 422 with the field and a clear message; everyone else 403."""

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.models import AssignmentRule, CaseCategory, MailTemplate, SlaPolicy

pytestmark = pytest.mark.django_db
BASE = "/api/v1/cases/config"


@pytest.fixture
def api(api_key_for):
    def client_of(user):
        key = api_key_for(user)

        def call(method, path, data=None):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
            if method == "get":
                return Client().get(f"{BASE}{path}", **kwargs)
            body = json.dumps(data) if data is not None else ""
            return getattr(Client(), method)(
                f"{BASE}{path}", body, content_type="application/json", **kwargs
            )

        return call

    return client_of


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_administrator_adds_changes_and_deletes_a_category(dana, api, defect):
    admin = api(dana)
    created = admin("post", "/categories", {"name_de": "Verpackung", "name_en": "Packaging"})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["kind"] == "other"
    changed = admin("patch", f"/categories/{pk}", {"kind": "delivery", "is_active": False})
    assert changed.json() == {
        "id": pk,
        "name_de": "Verpackung",
        "name_en": "Packaging",
        "kind": "delivery",
        "is_active": False,
    }
    assert pk in [c["id"] for c in admin("get", "/categories").json()]  # inactive ones too
    assert admin("delete", f"/categories/{pk}").status_code == 204
    assert not CaseCategory.objects.filter(pk=pk).exists()


def test_a_category_name_is_one_row_and_one_in_use_is_kept(dana, alice, api, defect):
    admin = api(dana)
    twice = admin("post", "/categories", {"name_de": "Doppelt", "name_en": "product DEFECT"})
    assert "exists already" in _errors(twice)["name_en"]
    customer = party_create(actor=alice, kind="organization", name="Kunde GmbH")
    services.case_create(
        actor=alice, party=customer, category=defect, channel="phone", subject="kaputt"
    )
    in_use = admin("delete", f"/categories/{defect.pk}")
    assert "deactivate it instead" in _errors(in_use)["body"]
    assert CaseCategory.objects.filter(pk=defect.pk).exists()


def test_root_causes_are_configured_with_a_description(dana, api, root_cause):
    admin = api(dana)
    created = admin(
        "post",
        "/root-causes",
        {"name_de": "Lagerfehler", "name_en": "Storage fault", "description": "Zu feucht"},
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert admin("get", f"/root-causes/{pk}").json()["description"] == "Zu feucht"
    assert admin("patch", f"/root-causes/{pk}", {"name_en": "Storage"}).json()["name_en"] == (
        "Storage"
    )


def test_an_sla_policy_is_set_per_severity_with_business_hours(dana, api, defect):
    admin = api(dana)
    body = {
        "hours_to_acknowledge": 2,
        "hours_to_resolve": 12,
        "day_start": "07:30",
        "day_end": "16:00",
        "weekdays": "123456",
        "state": "BY",
    }
    answer = admin("put", "/sla-policies/high", body)
    assert answer.status_code == 200, answer.content
    policy = SlaPolicy.objects.get(severity="high")
    assert (policy.weekdays, policy.state, str(policy.day_start)) == ("123456", "BY", "07:30:00")
    assert admin("get", "/sla-policies/high").json()["day_start"] == "07:30:00"
    assert len(admin("get", "/sla-policies").json()) == 4


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"day_start": "17:00", "day_end": "08:00"}, "day_end", "end after it starts"),
        ({"weekdays": "1123"}, "weekdays", "each business day once"),
        ({"weekdays": "1238"}, "weekdays", "pattern"),
        ({"weekdays": ""}, "weekdays", ""),
        ({"state": "XX"}, "state", ""),
        ({"hours_to_acknowledge": 20}, "hours_to_acknowledge", "longer than resolving"),
        ({"day_start": "08:00:00+02:00"}, "day_start", "without seconds or time zone"),
        ({"hours_to_resolve": 90000, "weekdays": "1"}, "hours_to_resolve", "five years"),
    ],
)
def test_a_bad_sla_policy_is_refused_with_the_field(dana, api, defect, change, field, says):
    before = SlaPolicy.objects.get(severity="low")
    body = {"hours_to_acknowledge": 8, "hours_to_resolve": 16} | change
    errors = _errors(api(dana)("put", "/sla-policies/low", body))
    assert says in errors[field]
    after = SlaPolicy.objects.get(severity="low")
    assert (after.hours_to_resolve, after.weekdays) == (before.hours_to_resolve, before.weekdays)


def test_an_assignment_rule_needs_someone_to_assign_to(dana, api, defect, sam, support):
    admin = api(dana)
    nobody = admin("post", "/assignment-rules", {"name": "Defekte", "category_id": defect.pk})
    assert "user or a team" in _errors(nobody)["assign_user"]
    assert not AssignmentRule.objects.exists()
    made = admin(
        "post",
        "/assignment-rules",
        {"name": "Defekte", "category_id": defect.pk, "assign_team_id": support.pk},
    )
    assert made.status_code == 201
    rule = made.json()
    assert (rule["assign_team_id"], rule["assign_user_id"]) == (support.pk, None)
    # Clearing the team without a user is refused too, before the database's constraint.
    cleared = admin("patch", f"/assignment-rules/{rule['id']}", {"assign_team_id": None})
    assert "user or a team" in _errors(cleared)["assign_user"]
    moved = admin(
        "patch", f"/assignment-rules/{rule['id']}", {"assign_user_id": sam.pk, "position": 3}
    )
    assert (moved.json()["assign_user_id"], moved.json()["position"]) == (sam.pk, 3)
    missing = admin("post", "/assignment-rules", {"name": "X", "assign_team_id": 999999})
    assert _errors(missing)["assign_team_id"] == "Not found."


def test_mail_templates_list_their_variables_and_the_shipped_wording(dana, api):
    MailTemplate.objects.create(
        key="reply", language="de", subject="Re {{ case.number }}", body="b"
    )
    listing = api(dana)("get", "/mail-templates").json()
    by_key = {entry["key"]: entry for entry in listing}
    assert {"acknowledgement", "reply", "closing", "supplier_request"} <= set(by_key)
    reply = by_key["reply"]
    assert {"case.number", "message.body"} <= {v["name"] for v in reply["variables"]}
    german, english = reply["languages"]
    assert german["template"]["subject"] == "Re {{ case.number }}"
    assert english["template"] is None
    assert "blocktranslate" in english["shipped_subject"]


def test_an_administrator_sets_previews_and_deletes_a_mail_template(dana, api):
    admin = api(dana)
    body = {"subject": "Fall {{ case.number }}", "body": "Hallo {{ case.customer }}"}
    assert admin("put", "/mail-templates/acknowledgement/de", body).status_code == 200
    preview = admin("post", "/mail-templates/acknowledgement/de/preview", {})
    year = timezone.localdate().year
    assert preview.json() == {"subject": f"Fall C-{year}-000123", "body": "Hallo Muster GmbH"}
    draft = admin(
        "post", "/mail-templates/acknowledgement/de/preview", {"body": "{{ case.owner }}"}
    )
    assert draft.json()["body"] == "Max Service"
    assert admin("delete", "/mail-templates/acknowledgement/de").status_code == 204
    assert not MailTemplate.objects.exists()


def test_an_unusable_mail_template_is_422_and_not_saved(dana, api):
    admin = api(dana)
    bad = admin(
        "put",
        "/mail-templates/reply/en",
        {"subject": "{% if %}", "body": "{% include 'base.html' %}"},
    )
    errors = _errors(bad)
    assert "error" in errors["subject"]
    assert "{% include %}" in errors["body"]
    assert not MailTemplate.objects.exists()
    unknown = admin("put", "/mail-templates/newsletter/en", {"subject": "a", "body": "b"})
    assert unknown.status_code == 422


def test_a_service_agent_and_a_manager_are_refused(sam, mia, api, defect):
    for user in (sam, mia):
        call = api(user)
        assert call("get", "/categories").status_code == 403
        assert call("post", "/categories", {"name_de": "a", "name_en": "b"}).status_code == 403
        assert call("get", "/sla-policies").status_code == 403
        body = {"hours_to_acknowledge": 1, "hours_to_resolve": 2}
        assert call("put", "/sla-policies/low", body).status_code == 403
        assert call("get", "/mail-templates").status_code == 403
        assert call("post", "/mail-templates/reply/de/preview", {}).status_code == 403
        assert call("delete", f"/categories/{defect.pk}").status_code == 403
    assert SlaPolicy.objects.get(severity="low").hours_to_acknowledge == 16


def test_the_django_model_permission_opens_exactly_its_routes(mia, api, defect):
    group = Group.objects.create(name="SLA editors")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="service", codename__in=["view_slapolicy", "change_slapolicy"]
        )
    )
    mia.groups.add(group)
    call = api(mia)
    body = {"hours_to_acknowledge": 1, "hours_to_resolve": 2}
    assert call("put", "/sla-policies/low", body).status_code == 200
    assert call("delete", "/sla-policies/low").status_code == 403
    assert call("get", "/categories").status_code == 403
