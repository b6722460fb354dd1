"""Channel preferences: edits with history, may_use verdicts, the automation e-mail action,
metrics per team, the API with If-Match, permissions and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.automation.rules import engine
from kreis.automation.rules import services as rule_services
from kreis.channels import services
from kreis.channels.metrics import channel_metrics
from kreis.channels.models import ChannelPreference
from kreis.channels.queries import preference_history
from kreis.marketing.models import (
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
)
from kreis.parties.models import ContactPoint
from tests.parties.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _consent(party):
    at = timezone.now() - dt.timedelta(days=5)
    return Consent.objects.create(
        party=party,
        purpose=ConsentPurpose.MARKETING,
        channel=ConsentChannel.EMAIL,
        status=ConsentStatus.GRANTED,
        basis=ConsentBasis.DOCUMENTED,
        source=ConsentSource.STAFF,
        requested_at=at,
        confirmed_at=at,
    )


@pytest.fixture
def eva(alice, north):
    party = PersonFactory(
        first_name="Eva", last_name="Engel", name="Eva Engel", owner=alice, team=north
    )
    ContactPoint.objects.create(party=party, kind="email", value="eva@example.com", is_primary=True)
    return party


def test_edit_keeps_history_with_who_and_what(eva, alice):
    services.preference_update(actor=alice, party=eva, preferred_channel="phone", language="en")
    services.opt_out(actor=alice, party=eva, channel="email", note="Asked on the phone")
    pref = ChannelPreference.objects.get(party=eva)
    assert pref.no_email_since is not None
    assert pref.changed_by == alice
    history = preference_history(eva)
    assert len(history) == 2
    latest = history[0]
    assert latest.who == alice.get_full_name()
    labels = {label for label, _before, _after in latest.changes}
    assert "do not e-mail since" in labels
    assert "note" in labels
    assert services.preferred_language(eva) == "en"


def test_the_preferred_language_picks_templates_and_quotes(eva, alice):
    from kreis.comms.queries import recipient_language
    from kreis.parties.models import Address
    from kreis.pricing.quotes.services import customer_language

    Address.objects.create(party=eva, street="Hauptstr. 1", city="Berlin", country="DE")
    eva.custom = {"language": "de"}
    eva.save()
    assert (recipient_language(eva), customer_language(eva, "de")) == ("de", "de")
    services.preference_update(actor=alice, party=eva, language="en")
    assert (recipient_language(eva), customer_language(eva, "de")) == ("en", "en")


def test_invalid_times_are_refused_and_nothing_changes(eva, alice):
    with pytest.raises(ValidationError) as exc:
        services.preference_update(
            actor=alice, party=eva, time_from=dt.time(17), time_to=dt.time(9)
        )
    assert "time_to" in exc.value.message_dict
    assert not ChannelPreference.objects.filter(party=eva).exists()


def test_may_use_verdicts(eva, alice):
    # No consent for advertising yet, but a service contact is fine.
    refused = services.may_use(eva, "email")
    assert not refused
    assert "no consent" in refused.reason
    assert services.may_use(eva, "email", purpose="service")
    _consent(eva)
    assert services.may_use(eva, "email").allowed
    # Preferred times: weekdays 9-12.
    services.preference_update(
        actor=alice, party=eva, weekdays="12345", time_from=dt.time(9), time_to=dt.time(12)
    )
    tz = timezone.get_current_timezone()
    monday_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=tz)
    monday_15 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=tz)
    saturday = dt.datetime(2026, 3, 7, 10, 0, tzinfo=tz)
    assert services.may_use(eva, "call", at=monday_10, purpose="service")
    late = services.may_use(eva, "call", at=monday_15, purpose="service")
    assert not late
    assert "09:00" in late.reason
    assert "12:00" in late.reason
    assert "Monday" in services.may_use(eva, "phone", at=saturday, purpose="service").reason
    # An opt-out wins over consent, for every purpose.
    services.opt_out(actor=alice, party=eva, channel="email")
    for purpose in ("marketing", "service"):
        verdict = services.may_use(eva, "email", purpose=purpose)
        assert not verdict
        assert "opted out" in verdict.reason
    assert services.may_use(eva, "in_person", purpose="service")


def test_automation_send_email_skips_an_opted_out_party_and_logs_why(eva, alice, dana):
    _consent(eva)
    services.opt_out(actor=alice, party=eva, channel="email", note="No more mail")
    rule = rule_services.rule_create(
        actor=dana,
        data={
            "name": "Welcome",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [
                {
                    "kind": "send_email",
                    "purpose": "marketing",
                    "subject_de": "Hallo {{ name }}",
                    "body_de": "Willkommen",
                }
            ],
        },
    )
    run = engine.run_rule(
        rule, {"trigger": "record.created", "record_type": "party", "record_id": eva.pk}, eva
    )
    assert run.actions[0]["status"] == "skipped"
    assert "opted out" in run.actions[0]["result"]


def _act(party, team, kind, direction, at, owner):
    return Activity.objects.create(
        kind=kind,
        subject="x",
        direction=direction,
        occurred_at=at,
        party=party,
        team=team,
        owner=owner,
    )


def test_metrics_volumes_and_response_times_per_team(eva, alice, charlie, north, south):
    now = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    other = PersonFactory(owner=charlie, team=south)
    _act(eva, north, "email", "inbound", now, alice)
    _act(eva, north, "email", "outbound", now + dt.timedelta(hours=2), alice)
    _act(eva, north, "email", "outbound", now + dt.timedelta(hours=5), alice)
    _act(eva, north, "email", "inbound", now + dt.timedelta(hours=6), alice)  # unanswered
    _act(eva, north, "call", "inbound", now, alice)
    _act(eva, north, "call", "outbound", now + dt.timedelta(hours=4), alice)
    _act(other, south, "email", "inbound", now, charlie)
    _act(other, south, "email", "outbound", now + dt.timedelta(hours=1), charlie)
    _act(other, south, "note", "", now, charlie)  # no channel
    today = timezone.localdate()
    found = channel_metrics(start=today - dt.timedelta(days=7), end=today)
    rows = {(r.team, r.channel): r for r in found.rows}
    north_mail = rows[("North", "email")]
    assert (north_mail.inbound, north_mail.outbound, north_mail.answered) == (2, 2, 1)
    assert north_mail.avg_response_hours == 2.0
    assert rows[("North", "phone")].avg_response_hours == 4.0
    assert rows[("South", "email")].avg_response_hours == 1.0
    overall = {r.channel: r for r in found.overall}
    assert (overall["email"].inbound, overall["email"].outbound) == (3, 3)
    assert overall["email"].avg_response_hours == 1.5
    only_south = channel_metrics(start=today - dt.timedelta(days=7), end=today, teams={south.pk})
    assert {r.team for r in only_south.rows} == {"South"}


def _auth(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_api_get_put_with_if_match_and_permissions(eva, alice, charlie, rory, api_key_for):
    client = Client()
    url = f"/api/v1/parties/{eva.pk}/channel-preferences"
    auth = _auth(api_key_for(alice))
    got = client.get(url, **auth)
    assert got.status_code == 200
    assert got.json()["no_email_since"] is None
    tag = got["ETag"]
    body = {"preferred_channel": "post", "language": "de", "no_call": True, "note": "per Brief"}
    put = client.put(
        url, json.dumps(body), content_type="application/json", HTTP_IF_MATCH=tag, **auth
    )
    assert put.status_code == 200, put.content
    assert put.json()["no_call_since"] is not None
    assert put["ETag"] != tag
    stale = client.put(
        url, json.dumps(body), content_type="application/json", HTTP_IF_MATCH=tag, **auth
    )
    assert stale.status_code == 412
    bad = client.put(
        url, json.dumps({**body, "weekdays": "19"}), content_type="application/json", **auth
    )
    assert bad.status_code in (400, 422)
    # Another team's user sees nothing; a read-only team member reads but does not write.
    assert client.get(url, **_auth(api_key_for(charlie))).status_code == 404
    reader = _auth(api_key_for(rory, scope="read"))
    assert client.get(url, **reader).status_code == 200
    assert client.put(
        url, json.dumps(body), content_type="application/json", **reader
    ).status_code in (403, 404)
    verdict = client.get(
        f"/api/v1/parties/{eva.pk}/channel-verdict?channel=phone&purpose=service", **auth
    )
    assert verdict.json()["allowed"] is False


def test_pages_panel_and_edit(eva, alice, charlie, rory):
    client = Client()
    client.force_login(alice)
    panel = client.get(f"/channels/party/{eva.pk}/")
    assert panel.status_code == 200
    assert b"Channel preferences" in panel.content
    edit = f"/channels/party/{eva.pk}/edit/"
    bad = client.post(edit, {"time_from": "18:00", "time_to": "08:00", "note": "kept"})
    assert bad.status_code == 200
    assert b"kept" in bad.content
    ok = client.post(edit, {"no_email_since": "on", "weekdays": ["1", "2"], "note": "Brief"})
    assert ok.status_code == 302
    pref = ChannelPreference.objects.get(party=eva)
    assert pref.no_email_since
    assert pref.weekdays == "12"
    assert b"E-mail: opted out" in client.get(f"/channels/party/{eva.pk}/").content
    client.force_login(rory)
    assert b"/edit/" not in client.get(f"/channels/party/{eva.pk}/").content
    assert client.get(edit).status_code == 404
    client.force_login(charlie)
    assert client.get(f"/channels/party/{eva.pk}/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.preference_update(actor=charlie, party=eva, language="de")


def test_cli_optout_import_all_or_nothing_and_metrics(eva, alice, tmp_path):
    ContactPoint.objects.create(party=eva, kind="phone", value="+4930123456")
    bad = tmp_path / "bad.csv"
    bad.write_text("value,note\neva@example.com,ok\nnobody@example.com,x\n=1+2,x\n", "utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("channels", "import-optouts", str(bad))
    assert "Line 3" in str(exc.value)
    assert "Line 4" in str(exc.value)
    assert not ChannelPreference.objects.filter(party=eva).exists()
    good = tmp_path / "good.csv"
    good.write_text("value,note\neva@example.com,=HYPERLINK(1)\n030 123456,\n", "utf-8")
    out = io.StringIO()
    call_command("channels", "import-optouts", str(good), stdout=out)
    assert "2 opt-outs recorded" in out.getvalue()
    pref = ChannelPreference.objects.get(party=eva)
    assert pref.no_email_since
    assert pref.no_call_since
    assert pref.note.startswith("'=HYPERLINK")
    out = io.StringIO()
    call_command("channels", "prefs", str(eva.pk), "--json", stdout=out)
    assert set(json.loads(out.getvalue())["opt_outs"]) == {"email", "phone"}
    call_command("channels", "optout", str(eva.pk), "--channel", "email", "--lift", stdout=out)
    assert services.preferred_language(eva) is None
    assert ChannelPreference.objects.get(party=eva).no_email_since is None
    out = io.StringIO()
    call_command("channels", "metrics", "--json", stdout=out)
    assert json.loads(out.getvalue())["per_team"] == []


def test_metrics_page_and_api_for_managers_and_admins(eva, alice, mia, dana, api_key_for):
    now = timezone.now() - dt.timedelta(days=1)
    _act(eva, eva.team, "email", "inbound", now, alice)
    _act(eva, eva.team, "email", "outbound", now + dt.timedelta(hours=3), alice)
    client = Client()
    client.force_login(alice)
    assert client.get("/analytics/channels/").status_code == 403
    client.force_login(mia)
    page = client.get("/analytics/channels/")
    assert page.status_code == 200
    assert b"North" in page.content
    bad = client.get("/analytics/channels/?start=2026-05-01&end=2026-01-01")
    assert b"The end is before the start." in bad.content
    api = client.get("/api/v1/analytics/channel-metrics", **_auth(api_key_for(dana)))
    assert api.status_code == 200
    overall = api.json()["overall"]
    assert overall[0]["channel"] == "email"
    assert overall[0]["avg_response_hours"] == 3.0
    refused = client.get("/api/v1/analytics/channel-metrics", **_auth(api_key_for(alice)))
    assert refused.status_code == 403
