"""Handoff to sales: who gets a qualified lead, the first-contact SLA (reminder, escalation,
recycling) on a fixed clock, and the first contact by activity or status."""

from datetime import UTC, datetime, timedelta

import pytest

from kreis.activities.models import Activity
from kreis.core.models import Notification, Role
from kreis.leads import services as lead_services
from kreis.leads.models import LeadStatus
from kreis.marketing.handoff import services
from kreis.marketing.models import HandoffStatus, LeadAssignmentRule, LeadHandoff, MarketingSettings
from kreis.marketing.signals import lead_qualified
from tests.commerce.factories import ProductFactory
from tests.factories import MembershipFactory, UserFactory
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sla(db):
    config = MarketingSettings.load()
    config.first_contact_hours, config.reminder_percent, config.recycle_hours = 24, 75, 48
    config.save()
    return config


def rule(name, *, users=(), position=0, **fields):
    r = LeadAssignmentRule.objects.create(name=name, position=position, **fields)
    r.users.set(users)
    return r


def titles(user):
    return list(Notification.objects.filter(user=user).values_list("title", flat=True))


def test_rule_by_territory_ignores_case(alice, bob, sla):
    rule("DACH", users=[bob], territory="DE")
    lead = LeadFactory(territory="de")
    handoff = services.hand_off(lead, now=T0)
    lead.refresh_from_db()
    assert lead.owner == bob
    assert handoff.assigned_to == bob
    assert handoff.due_at == T0 + timedelta(hours=24)
    assert "DACH" in handoff.reason
    assert "DE" in handoff.reason


def test_rule_by_product_and_language_and_first_fitting_by_position(alice, bob, charlie, sla):
    drill = ProductFactory()
    rule("English", users=[charlie], language="en", position=20)
    rule("Drills", users=[bob], product_interest=drill, position=10)
    assert services.hand_off(LeadFactory(product_interest=drill, language="en")).assigned_to == bob
    assert services.hand_off(LeadFactory(language="en")).assigned_to == charlie


def test_team_rule_round_robin_in_username_order(alice, bob, mia, north, sla):
    r = rule("North", team=north)
    got = [services.hand_off(LeadFactory()).assigned_to.username for _ in range(4)]
    # Alice, Bob and Mia (a sales manager may own leads) take turns.
    assert got == ["alice", "bob", "mia", "alice"]
    r.refresh_from_db()
    assert r.last_user.username == "alice"


def test_workload_cap_skips_the_full_rep_and_says_so(alice, bob, sla):
    rule("Capped", users=[alice, bob], workload_cap=2)
    LeadFactory.create_batch(2, owner=alice, status=LeadStatus.CONTACTED)
    LeadFactory(owner=bob, status=LeadStatus.CONVERTED)  # closed leads do not count
    handoff = services.hand_off(LeadFactory())
    assert handoff.assigned_to == bob
    assert "Bob Becker had 0 of 2 open leads" in services.reason_text(handoff.reason)
    assert "skipped at the cap: Alice Adler" in services.reason_text(handoff.reason)


def test_the_reason_is_stored_without_language_and_worded_for_each_reader(alice, bob, sla):
    from django.utils import translation

    rule("DACH", users=[alice, bob], territory="DE", language="de", workload_cap=2)
    LeadFactory.create_batch(2, owner=alice, status=LeadStatus.CONTACTED)
    bob.language = "en"
    bob.save()
    with translation.override("de"):  # a German marketer hands it off
        handoff = services.hand_off(LeadFactory(territory="DE", language="de"), now=T0)
    handoff.refresh_from_db()
    code, params = services.reason_decode(handoff.reason)
    assert code == "rule"
    assert params == {
        "rule": "DACH",
        "territory": "DE",
        "language": "de",
        "name": "Bob Becker",
        "load": 0,
        "cap": 2,
        "skipped": ["Alice Adler"],
    }
    assert "Regel" not in handoff.reason
    with translation.override("en"):
        assert services.reason_text(handoff.reason) == (
            "Rule “DACH” — territory DE, language German; round-robin; "
            "Bob Becker had 0 of 2 open leads; skipped at the cap: Alice Adler"
        )
    with translation.override("de"):
        assert services.reason_text(handoff.reason).startswith(
            "Regel „DACH“ — Gebiet DE, Sprache Deutsch; reihum; Bob Becker hatte 0 von 2"
        )
    # Bob reads English: his notification is worded in English at sending time.
    body = Notification.objects.get(user=bob).body
    assert "Rule “DACH” — territory DE, language German; round-robin" in body
    assert "Regel" not in body


def test_an_older_free_text_reason_is_shown_as_it_was_stored(alice, sla):
    handoff = LeadHandoff.objects.create(
        lead=LeadFactory(),
        assigned_to=alice,
        reason="Regel „Alt“ — beliebiger Lead; reihum",
        assigned_at=T0,
        due_at=T0 + timedelta(hours=24),
    )
    assert services.reason_decode(handoff.reason) is None
    assert services.reason_text(handoff.reason) == "Regel „Alt“ — beliebiger Lead; reihum"


def test_a_very_long_reason_still_fits_its_field(sla):
    names = [UserFactory(username=f"u{i}", first_name="N" * 60, last_name=f"{i}") for i in range(8)]
    for user in names:
        user.role = Role.SALES_REP
        user.save()
        LeadFactory(owner=user, status=LeadStatus.CONTACTED)
    last = UserFactory(username="zz", role=Role.SALES_REP)
    rule("R" * 120, users=[*names, last], territory="T" * 100, workload_cap=1)
    handoff = services.hand_off(LeadFactory(territory="T" * 100))
    assert handoff.assigned_to == last
    assert len(handoff.reason) <= services.REASON_LENGTH
    code, params = services.reason_decode(handoff.reason)
    assert code == "rule"
    assert services.reason_text(handoff.reason).startswith("Rule “RRR")


def test_all_at_cap_goes_to_next_rule_then_fallback(alice, bob, charlie, sla):
    rule("Full", users=[alice], workload_cap=1, position=1)
    rule("Next", users=[bob], workload_cap=1, position=2)
    LeadFactory(owner=alice)
    assert services.hand_off(LeadFactory()).assigned_to == bob
    # Both full now: the fallback round-robin among all sales reps.
    handoff = services.hand_off(LeadFactory())
    assert handoff.rule is None
    assert services.reason_decode(handoff.reason) == ("fallback", {"full_rules": ["Full", "Next"]})
    assert services.reason_text(handoff.reason) == (
        "Every user of the fitting rules is at the cap (Full, Next); "
        "round-robin among all sales reps"
    )


def test_no_rule_fits_round_robin_among_all_reps(alice, bob, charlie, mia, sla):
    rule("Austria", users=[mia], territory="AT")
    got = [services.hand_off(LeadFactory(territory="DE")).assigned_to.username for _ in range(4)]
    assert got == ["alice", "bob", "charlie", "alice"]


def test_inactive_users_and_service_agents_never_get_leads(alice, bob, north, sla):
    bob.is_active = False
    bob.save()
    agent = UserFactory(username="aaron", role=Role.SERVICE_AGENT)
    MembershipFactory(team=north, user=agent)
    rule("North", team=north)
    assert {services.hand_off(LeadFactory()).assigned_to for _ in range(2)} == {alice}


def test_only_new_leads_and_one_open_handoff(alice, sla):
    assert services.hand_off(LeadFactory(status=LeadStatus.CONTACTED)) is None
    lead = LeadFactory()
    assert services.hand_off(lead) is not None
    assert services.hand_off(lead) is None
    assert LeadHandoff.objects.filter(lead=lead).count() == 1


def test_mql_signal_hands_the_lead_off_and_notifies_the_rep(alice, sla):
    lead = LeadFactory(last_name="Kurz")
    lead_qualified.send(sender=type(lead), lead=lead)
    handoff = LeadHandoff.objects.get(lead=lead)
    assert handoff.assigned_to == alice
    assert handoff.status == HandoffStatus.OPEN
    assert any("Kurz" in t for t in titles(alice))


def test_first_contact_by_call_in_time(alice, sla):
    lead = LeadFactory()
    handoff = services.hand_off(lead)
    Activity.objects.create(kind="call", subject="Hello", occurred_at=T0, lead=lead, owner=alice)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.CONTACTED
    assert handoff.first_contact_at is not None


def test_a_note_is_no_contact_but_late_status_change_is(alice, sla):
    lead = LeadFactory()
    handoff = services.hand_off(lead, now=datetime.now(UTC) - timedelta(hours=30))
    Activity.objects.create(kind="note", subject="x", occurred_at=T0, lead=lead, owner=alice)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OPEN
    lead_services.lead_set_status(actor=alice, lead=lead, status=LeadStatus.CONTACTED)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.LATE


def test_reminder_escalation_and_recycling_on_a_fixed_clock(alice, bob, mia, north, sla):
    rule("North reps", users=[alice, bob])
    lead = LeadFactory(team=north)
    handoff = services.hand_off(lead, now=T0)
    assert handoff.assigned_to == alice

    assert services.check_sla(now=T0 + timedelta(hours=17)).reminded == 0
    assert services.check_sla(now=T0 + timedelta(hours=18)).reminded == 1  # 75 % of 24 h
    assert services.check_sla(now=T0 + timedelta(hours=19)).reminded == 0  # once
    assert any(t.startswith("First contact due soon") for t in titles(alice))

    result = services.check_sla(now=T0 + timedelta(hours=24))
    assert (result.escalated, result.recycled) == (1, 0)
    assert services.check_sla(now=T0 + timedelta(hours=25)).escalated == 0
    assert any(t.startswith("Lead not contacted in time") for t in titles(mia))
    assert any(t.startswith("First contact overdue") for t in titles(alice))

    result = services.check_sla(now=T0 + timedelta(hours=72))
    assert (result.recycled, result.reassigned) == (1, 1)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.RECYCLED
    assert handoff.recycled_at == T0 + timedelta(hours=72)
    lead.refresh_from_db()
    assert lead.owner == bob  # the next rep; never the one who missed it
    new = LeadHandoff.objects.get(lead=lead, status=HandoffStatus.OPEN)
    assert new.assigned_at == T0 + timedelta(hours=72)
    assert any(t.startswith("Lead taken back") for t in titles(alice))
    assert any(t.startswith("Lead recycled") for t in titles(mia))
    assert any(t.startswith("New lead for you") for t in titles(bob))

    # Bob misses it as well: nobody is left, so the lead loses its owner.
    result = services.check_sla(now=T0 + timedelta(hours=72 + 72))
    assert (result.recycled, result.reassigned, result.unassigned) == (1, 0, [lead.pk])
    lead.refresh_from_db()
    assert lead.owner is None
    assert lead.team == north
    assert services.check_sla(now=T0 + timedelta(hours=500)).as_dict() == {
        "reminded": 0,
        "escalated": 0,
        "recycled": 0,
        "reassigned": 0,
        "unassigned": 0,
    }


def test_sla_job_is_idempotent(alice, mia, north, sla):
    rule("North", users=[alice])
    for _ in range(3):
        services.hand_off(LeadFactory(team=north), now=T0)
    first = services.check_sla(now=T0 + timedelta(hours=24))
    notes = Notification.objects.count()
    second = services.check_sla(now=T0 + timedelta(hours=24))
    assert first.escalated == 3
    assert second.escalated == 0
    assert Notification.objects.count() == notes


def test_contacted_handoff_is_neither_escalated_nor_recycled(alice, sla):
    lead = LeadFactory()
    handoff = services.hand_off(lead, now=T0)
    services.record_first_contact(lead_id=lead.pk, at=T0 + timedelta(hours=2))
    result = services.check_sla(now=T0 + timedelta(hours=200))
    assert (result.escalated, result.recycled) == (0, 0)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.CONTACTED
