"""Rule notifications speak the recipient's language: the "notify" action and the
administrators' alert after a rule gives up, each user in their own, whatever the site's."""

import pytest
from django.utils import translation

from kreis.automation.rules import engine, services
from kreis.automation.rules.models import RuleRun, RunStatus
from kreis.core.models import Notification
from kreis.sales.services import deal_move
from tests.factories import UserFactory
from tests.sales.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db(transaction=True)


def _rule(dana, actions):
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "Nachfassen",
            "trigger": "deal.stage_changed",
            "actions": actions,
        },
    )
    return services.rule_set_enabled(actor=dana, rule=rule, enabled=True)


def test_notify_action_is_in_each_recipients_language(dana, alice, bob, north):
    alice.language, bob.language = "de", "en"
    alice.save()
    bob.save()
    _rule(
        dana,
        [
            {"kind": "notify", "message": "Deal moved"},
            {"kind": "notify", "user_id": bob.pk, "message": "Deal moved"},
        ],
    )
    deal = DealFactory(owner=alice, team=north)
    with translation.override("en"):
        deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    to_alice = Notification.objects.get(user=alice)
    to_bob = Notification.objects.get(user=bob)
    assert to_alice.title == to_bob.title == "Deal moved"  # the rule's own words, as written
    assert to_alice.body == "Automatisierungsregel „Nachfassen“"
    assert to_bob.body == "Automation rule “Nachfassen”"


def test_admins_alert_after_failed_retries_is_in_each_admins_language(
    dana, alice, north, monkeypatch
):
    dana.language = "de"
    dana.save()
    english_admin = UserFactory(username="erin", role="admin", language="en")
    _rule(dana, [{"kind": "create_task", "subject": "x"}])

    def broken(action, *args, **kwargs):
        raise RuntimeError("activities down")

    monkeypatch.setattr(engine, "run_action", broken)
    with translation.override("en"):
        deal_move(
            actor=alice, deal=DealFactory(owner=alice, team=north), stage=stage_named("Proposal")
        )
        run = RuleRun.objects.get()
        for _ in range(engine.MAX_ATTEMPTS - 1):
            engine.retry(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    german = Notification.objects.get(user=dana)
    english = Notification.objects.get(user=english_admin)
    assert german.title == "Automatisierungsregel „Nachfassen“ fehlgeschlagen"
    assert english.title == "Automation rule “Nachfassen” failed"
    assert german.body.startswith(f"Nach {engine.MAX_ATTEMPTS} Versuchen aufgegeben.")
    assert english.body.startswith(f"Gave up after {engine.MAX_ATTEMPTS} attempts.")
    assert "activities down" in german.body
    assert "activities down" in english.body
