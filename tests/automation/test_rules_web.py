"""The rules' pages, API and inbound webhook: administrators only, specific errors, the dry
run, export and import, the run log."""

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from standardwebhooks import Webhook

from kreis.activities.models import Activity
from kreis.automation.rules import services
from kreis.automation.rules.models import Rule, RuleRun
from tests.conftest import client_for
from tests.sales.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db(transaction=True)


def api(client, key, method, path, body=None, **headers):
    return getattr(client, method)(
        f"/api/v1{path}",
        json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **headers,
    )


def _post_rule(client, **extra):
    data = {
        "name": "Proposal follow-up",
        "description": "",
        "trigger": "deal.stage_changed",
        "record_type": "",
        "stage": str(stage_named("Proposal").pk),
        "match": "all",
        "conditions-TOTAL_FORMS": "1",
        "conditions-INITIAL_FORMS": "0",
        "conditions-0-kind": "",
        "conditions-0-op": "eq",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-kind": "create_task",
        "actions-0-subject": "Call about {{ record }}",
        "actions-0-days": "2",
        "actions-0-purpose": "marketing",
    }
    return client.post("/automation/rules/new/", data | extra)


def test_only_administrators_see_the_pages(alice, dana):
    assert client_for(alice).get("/automation/rules/").status_code == 403
    page = client_for(dana).get("/automation/rules/")
    assert page.status_code == 200
    assert "Automation rules" in page.content.decode()


def test_form_creates_a_disabled_rule_and_keeps_input_on_errors(dana, alice, north):
    client = client_for(dana)
    bad = _post_rule(
        client,
        **{"actions-0-subject": "", "conditions-0-kind": "field", "conditions-0-field": "nope"},
    )
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "Give the task a subject." in text
    assert "“nope” is not a field" in text
    assert 'value="Proposal follow-up"' in text
    assert not Rule.objects.exists()
    response = _post_rule(client)
    rule = Rule.objects.get()
    assert response.status_code == 302
    assert not rule.enabled
    assert rule.trigger_config == {"stage_id": stage_named("Proposal").pk}
    # try it on a deal: nothing changes
    deal = DealFactory(owner=alice, team=north, name="Pumps")
    page = client.get(f"/automation/rules/{rule.pk}/try/", {"record_type": "deal", "q": "Pumps"})
    assert "Would create the task" in page.content.decode()
    assert not Activity.objects.exists()
    # enable it and move the deal
    client.post(f"/automation/rules/{rule.pk}/toggle/", {"enabled": "1"})
    from kreis.sales.services import deal_move

    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    assert Activity.objects.get(deal=deal).subject == "Call about Pumps"
    detail = client.get(f"/automation/rules/{rule.pk}/").content.decode()
    assert "Created the task" in detail


def test_export_and_import_pages(dana):
    client = client_for(dana)
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "Tag",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [{"kind": "add_tag", "tag": "new"}],
        },
    )
    exported = client.get(f"/automation/rules/{rule.pk}/export/")
    payload = json.loads(exported.content)
    assert payload["rules"][0]["name"] == "Tag"
    broken = client.post("/automation/rules/import/", {"json": "{not json"})
    assert "This is not valid JSON" in broken.content.decode()
    payload["rules"].append({"name": "Bad", "trigger": "nope", "actions": []})
    refused = client.post("/automation/rules/import/", {"json": json.dumps(payload)})
    assert "Rule 2 (“Bad”): trigger: Unknown trigger “nope”." in refused.content.decode()
    assert Rule.objects.count() == 1
    payload["rules"].pop()
    client.post("/automation/rules/import/", {"json": json.dumps(payload)})
    assert Rule.objects.count() == 2


def test_api_round_trip(dana, alice, north, api_key_for):
    key = api_key_for(dana)
    client = Client()
    assert api(client, api_key_for(alice), "get", "/automation/rules").status_code == 403
    created = api(
        client,
        key,
        "post",
        "/automation/rules",
        {
            "name": "Big deals",
            "trigger": "deal.stage_changed",
            "conditions": [{"kind": "field", "field": "amount", "op": "gt", "value": "5000"}],
            "actions": [{"kind": "notify", "message": "Big deal moved"}],
        },
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["enabled"] is False
    bad = api(
        client,
        key,
        "post",
        "/automation/rules",
        {"name": "x", "trigger": "deal.stage_changed", "actions": [{"kind": "fly"}]},
    )
    assert bad.status_code in (400, 422)
    assert "actions[0].kind" in bad.content.decode()
    deal = DealFactory(owner=alice, team=north, amount=9000)
    tried = api(
        client,
        key,
        "post",
        f"/automation/rules/{rule['id']}/try",
        {"record_type": "deal", "record_id": deal.pk},
    )
    assert tried.json()["passed"] is True
    assert tried.json()["actions"][0]["result"].startswith("Would notify")
    stale = api(
        client,
        key,
        "patch",
        f"/automation/rules/{rule['id']}",
        {"enabled": True},
        HTTP_IF_MATCH='"1-0.000000"',
    )
    assert stale.status_code == 412
    enabled = api(client, key, "patch", f"/automation/rules/{rule['id']}", {"enabled": True})
    assert enabled.json()["enabled"] is True
    from kreis.sales.services import deal_move

    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    runs = api(client, key, "get", f"/automation/rules/{rule['id']}/runs").json()
    items = runs["items"] if isinstance(runs, dict) else runs
    assert items[0]["status"] == "succeeded"
    assert items[0]["record_id"] == deal.pk
    exported = api(client, key, "get", "/automation/rules/export").json()
    assert [r["name"] for r in exported["rules"]] == ["Big deals"]


def _signed(secret, body: bytes, msg_id="msg_1"):
    now = datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(now.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def test_inbound_webhook_checks_the_signature(dana):
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "Shop order",
            "trigger": "webhook.received",
            "conditions": [{"kind": "field", "field": "total", "op": "gt", "value": "100"}],
            "actions": [{"kind": "notify", "message": "Big web order", "user_id": dana.pk}],
        },
    )
    services.rule_set_enabled(actor=dana, rule=rule, enabled=True)
    url = f"/automation/hooks/{rule.inbound_token}/"
    body = json.dumps({"order": "A-1", "total": 250}).encode()
    client = Client()
    unsigned = client.post(url, body, content_type="application/json")
    assert unsigned.status_code == 401
    wrong = client.post(
        url, body, content_type="application/json", **_signed("whsec_" + "QUJD" * 8, body)
    )
    assert wrong.status_code == 401
    assert not RuleRun.objects.exists()
    ok = client.post(
        url, body, content_type="application/json", **_signed(rule.inbound_secret, body)
    )
    assert ok.status_code == 202
    run = RuleRun.objects.get()
    assert run.status == "succeeded"
    assert run.conditions[0]["passed"] is True
    assert (
        client.post("/automation/hooks/unknown/", body, content_type="application/json").status_code
        == 404
    )


def test_the_rule_page_names_stages_users_and_fields_not_their_keys(dana, alice):
    proposal = stage_named("Proposal")
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "Proposal follow-up",
            "trigger": "deal.stage_changed",
            "trigger_config": {"stage_id": proposal.pk},
            "actions": [
                {"kind": "create_task", "subject": "Call", "days": 2, "user_id": alice.pk},
                {"kind": "assign_owner", "user_id": alice.pk},
            ],
        },
    )
    text = client_for(dana).get(f"/automation/rules/{rule.pk}/").content.decode()
    assert f"Stage: {proposal}" in text
    assert f"User: {alice}" in text
    assert "stage_id" not in text
    assert "user_id" not in text
    german = (
        client_for(dana)
        .get(f"/automation/rules/{rule.pk}/", HTTP_ACCEPT_LANGUAGE="de")
        .content.decode()
    )
    assert f"Phase: {proposal}" in german
    assert "Tage: 2" in german
