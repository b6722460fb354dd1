"""Playbooks through the REST API and the CLI."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from kreis.playbooks.models import Enrollment
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_api_admin_creates_playbook_and_steps(dana, api_key_for):
    client, auth = Client(), _auth(api_key_for(dana))
    created = client.post(
        "/api/v1/playbooks",
        json.dumps(
            {
                "name_de": "Test",
                "name_en": "Test",
                "kind": "other",
                "entry_phases": ["endangerment"],
                "holdout_percent": 15,
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    step = client.post(
        f"/api/v1/playbooks/{pk}/steps",
        json.dumps({"action": "call", "title_de": "Anrufen", "title_en": "Call"}),
        content_type="application/json",
        **auth,
    )
    assert step.status_code == 201, step.content
    detail = client.get(f"/api/v1/playbooks/{pk}", **auth).json()
    assert detail["steps"][0]["title_en"] == "Call"
    assert detail["holdout_percent"] == 15
    bad = client.post(
        "/api/v1/playbooks",
        json.dumps({"name_de": "x", "name_en": "x", "kind": "other", "holdout_percent": 90}),
        content_type="application/json",
        **auth,
    )
    assert bad.status_code in (400, 422)
    wrong = client.post(
        f"/api/v1/playbooks/{pk}/steps",
        json.dumps({"action": "task", "title_de": "a", "title_en": "b", "send_email": True}),
        content_type="application/json",
        **auth,
    )
    assert wrong.status_code in (400, 422)
    stale = client.patch(
        f"/api/v1/playbooks/{pk}",
        json.dumps({"enabled": False}),
        content_type="application/json",
        HTTP_IF_MATCH='"stale"',
        **auth,
    )
    assert stale.status_code == 412


def test_api_start_stop_stats_and_visibility(retention, alice, charlie, dana, api_key_for):
    mine = OrganizationFactory(owner=alice)
    client = Client()
    admin = _auth(api_key_for(dana))
    started = client.post(
        f"/api/v1/playbooks/{retention.pk}/start",
        json.dumps({"party_ids": [mine.pk]}),
        content_type="application/json",
        **admin,
    )
    assert started.json() == {"enrolled": 1}
    rows = client.get(f"/api/v1/playbooks/{retention.pk}/enrollments", **_auth(api_key_for(alice)))
    assert [r["party_id"] for r in rows.json()["items"]] == [mine.pk]
    assert rows.json()["items"][0]["current_step"] == 1
    hidden = client.get(
        f"/api/v1/playbooks/{retention.pk}/enrollments", **_auth(api_key_for(charlie))
    )
    assert hidden.json()["items"] == []
    refused = client.post(
        f"/api/v1/playbooks/{retention.pk}/start",
        json.dumps({"party_ids": [mine.pk]}),
        content_type="application/json",
        **_auth(api_key_for(alice)),
    )
    assert refused.status_code == 403
    stats = client.get(f"/api/v1/playbooks/{retention.pk}/stats", **admin).json()
    assert stats["running"]["treated"]["n"] == 1
    assert stats["ended"]["treated"]["n"] == 0
    party_rows = client.get(f"/api/v1/parties/{mine.pk}/playbooks", **admin).json()
    assert party_rows["items"][0]["playbook_id"] == retention.pk
    stopped = client.post(
        f"/api/v1/playbooks/{retention.pk}/stop",
        json.dumps({"party_ids": [mine.pk], "reason": "test"}),
        content_type="application/json",
        **admin,
    )
    assert stopped.json() == {"stopped": 1}


def test_cli(retention, alice, tmp_path):
    parties = [OrganizationFactory(owner=alice) for _ in range(3)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(str(p.pk) for p in parties) + "\n")
    out = StringIO()
    call_command("playbooks", "start", "retention-endangerment", "--file", str(ids), stdout=out)
    assert "enrolled 3" in out.getvalue()
    assert Enrollment.objects.filter(playbook=retention).count() == 3
    out = StringIO()
    call_command("playbooks", "stop", str(retention.pk), str(parties[0].pk), stdout=out)
    assert "stopped 1" in out.getvalue()
    out = StringIO()
    call_command("playbooks", "list", "--json", stdout=out)
    row = next(r for r in json.loads(out.getvalue()) if r["key"] == "retention-endangerment")
    assert row["active"] == 2
    assert row["exited"] == 1
    out = StringIO()
    call_command("playbooks", "advance", stdout=out)
    assert "steps run 0" in out.getvalue()
    out = StringIO()
    call_command("playbooks", "stats", "retention-endangerment", "--json", stdout=out)
    assert json.loads(out.getvalue())["running"]["treated"]["n"] == 3
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("playbooks", "start", "no-such-key", "1")
