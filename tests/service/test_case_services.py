"""Accepting and handling complaints: numbers, owners, due dates, the flow, the sender."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from kreis.parties.models import Party
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.models import (
    AssignmentRule,
    Case,
    CaseMessage,
    CaseTransition,
    SlaPolicy,
)
from tests.commerce.factories import ProductFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def customer(alice):
    return party_create(
        actor=alice,
        kind="organization",
        name="Pumpen Schulz GmbH",
        emails=[{"value": "service@schulz.example"}],
        territory="Nord",
    )


def _case(actor, customer, category, **extra):
    data = {"channel": "phone", "subject": "Pumpe undicht", "severity": "high"} | extra
    return services.case_create(actor=actor, party=customer, category=category, **data)


def test_cases_are_numbered_per_year_without_gaps(alice, customer, defect):
    first = _case(alice, customer, defect)
    second = _case(alice, customer, defect)
    year = first.created_at.astimezone(BERLIN).year
    assert first.number.startswith(f"C-{year}-")
    assert int(second.number.rsplit("-", 1)[1]) == int(first.number.rsplit("-", 1)[1]) + 1
    assert len(first.number) == len("C-2026-000123")


def test_the_counter_gives_each_number_once():
    numbers = {services.next_case_number(year=2031) for _ in range(20)}
    assert numbers == {f"C-2031-{n:06d}" for n in range(1, 21)}


@pytest.mark.django_db(transaction=True)
def test_concurrent_cases_never_share_a_number():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        pytest.skip("an in-memory SQLite database is not shared between threads")
    numbers, errors = [], []

    def take():
        try:
            for _ in range(5):
                numbers.append(services.next_case_number(year=2032))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"C-2032-{n:06d}" for n in range(1, 21)]


def test_a_matching_rule_gives_the_case_its_owner_at_once(alice, customer, defect, sam, sue):
    AssignmentRule.objects.create(position=1, name="Defects", category=defect, assign_user=sue)
    case = _case(alice, customer, defect)
    assert case.owner == sue
    assert case.team.name == "Support North"


def test_rules_match_product_and_region_blank_matches_any(alice, customer, defect, sam, sue, otto):
    pump = ProductFactory()
    AssignmentRule.objects.create(position=1, name="Pumps", product=pump, assign_user=otto)
    AssignmentRule.objects.create(position=2, name="North", region="nord", assign_user=sue)
    assert _case(alice, customer, defect, product=pump).owner == otto
    assert _case(alice, customer, defect).owner == sue  # the party's territory "Nord"
    assert _case(alice, customer, defect, region="Süd").owner in (sam, sue, otto)


def test_a_team_rule_goes_round_robin_among_its_agents(alice, customer, defect, sam, sue, otto):
    AssignmentRule.objects.create(position=1, name="Team", assign_team=sam.teams.first())
    owners = [_case(alice, customer, defect).owner for _ in range(4)]
    assert owners == [sam, sue, sam, sue]


def test_without_rules_all_service_agents_take_turns(alice, customer, defect, sam, otto):
    owners = [_case(alice, customer, defect).owner for _ in range(3)]
    assert owners == [sam, otto, sam]


def test_without_service_agents_the_one_who_took_it_owns_it(alice, customer, defect):
    case = _case(alice, customer, defect)
    assert case.owner == alice
    assert case.team == alice.teams.first()


def test_due_dates_follow_the_sla_of_the_severity_in_business_hours(
    alice, customer, defect, time_machine_at
):
    SlaPolicy.objects.filter(severity="high").update(hours_to_acknowledge=4, hours_to_resolve=16)
    time_machine_at(dt.datetime(2026, 12, 24, 15, tzinfo=BERLIN))  # Thursday before Christmas
    case = _case(alice, customer, defect, severity="high")
    # 2 h on the 24th, then 25/26 Dec (holidays) and the weekend: Monday 28 Dec.
    assert case.ack_due_at == dt.datetime(2026, 12, 28, 10, tzinfo=BERLIN)
    assert case.resolve_due_at == dt.datetime(2026, 12, 29, 13, tzinfo=BERLIN)


def test_waiting_for_the_customer_pauses_the_clock(alice, customer, defect, time_machine_at):
    SlaPolicy.objects.filter(severity="high").update(hours_to_acknowledge=4, hours_to_resolve=16)
    time_machine_at(dt.datetime(2026, 12, 1, 9, tzinfo=BERLIN))
    case = _case(alice, customer, defect)
    case = services.case_transition(actor=alice, case=case, to_status="in_progress")
    resolve_due = case.resolve_due_at
    case = services.case_set_waiting(actor=alice, case=case, waiting=True)
    assert case.is_overdue(now=resolve_due + dt.timedelta(days=9)) is False
    time_machine_at(dt.datetime(2026, 12, 1, 12, tzinfo=BERLIN))
    services.case_add_customer_message(actor=alice, case=case, body="Foto anbei")
    case.refresh_from_db()
    assert case.waiting_for_customer is False
    assert case.paused_seconds == 3 * 3600
    waits = CaseTransition.objects.filter(case=case).exclude(event__in=["received", "status"])
    assert list(waits.values_list("event", "from_status", "to_status")) == [
        ("wait", "in_progress", "in_progress"),
        ("resume", "in_progress", "in_progress"),
    ]
    # Due Wednesday 16:00; three business hours later is Thursday 10:00 (the night skipped).
    assert resolve_due == dt.datetime(2026, 12, 2, 16, tzinfo=BERLIN)
    assert case.resolve_due_at == dt.datetime(2026, 12, 3, 10, tzinfo=BERLIN)


def test_every_transition_is_recorded_with_who_when_from_to(alice, customer, defect, root_cause):
    case = _case(alice, customer, defect)
    for status in ("acknowledged", "in_progress", "solution_proposed"):
        case = services.case_transition(actor=alice, case=case, to_status=status)
    with pytest.raises(ValidationError, match="root cause"):
        services.case_transition(actor=alice, case=case, to_status="resolved")
    case = services.case_transition(
        actor=alice, case=case, to_status="resolved", root_cause=root_cause
    )
    case = services.case_transition(actor=alice, case=case, to_status="closed")
    assert None not in (case.acknowledged_at, case.resolved_at, case.closed_at)
    with pytest.raises(ValidationError, match="reopened"):
        services.case_transition(actor=alice, case=case, to_status="in_progress")
    case = services.case_transition(
        actor=alice, case=case, to_status="in_progress", note="Pumpe wieder undicht"
    )
    assert (case.closed_at, case.resolved_at) == (None, None)
    rows = list(CaseTransition.objects.filter(case=case).values_list("from_status", "to_status"))
    assert rows == [
        ("", "received"),
        ("received", "acknowledged"),
        ("acknowledged", "in_progress"),
        ("in_progress", "solution_proposed"),
        ("solution_proposed", "resolved"),
        ("resolved", "closed"),
        ("closed", "in_progress"),
    ]
    events = list(CaseTransition.objects.filter(case=case).values_list("event", flat=True))
    assert events == ["received"] + ["status"] * 6
    assert set(CaseTransition.objects.filter(case=case).values_list("actor", flat=True)) == {
        alice.pk
    }
    assert case.history.count() >= 7


def test_a_skipped_step_is_refused(alice, customer, defect):
    case = _case(alice, customer, defect)
    with pytest.raises(ValidationError):
        services.case_transition(actor=alice, case=case, to_status="closed")


def test_the_customer_gets_an_acknowledgement_in_their_language(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        de = _case(alice, customer, defect, language="de")
    with django_capture_on_commit_callbacks(execute=True):
        en = _case(alice, customer, defect, language="en")
    assert [m.to for m in mail.outbox] == [["service@schulz.example"]] * 2
    assert mail.outbox[0].subject == f"Ihre Reklamation {de.number}: Pumpe undicht"
    assert "vielen Dank" in mail.outbox[0].body
    assert mail.outbox[1].subject == f"Your complaint {en.number}: Pumpe undicht"
    assert "thank you" in mail.outbox[1].body
    assert CaseMessage.objects.filter(case=de, kind="customer_reply").count() == 1


def test_no_acknowledgement_without_an_address(alice, defect, django_capture_on_commit_callbacks):
    walk_in = party_create(actor=alice, kind="person", first_name="Eva", last_name="Ohnemail")
    with django_capture_on_commit_callbacks(execute=True):
        _case(alice, walk_in, defect)
    assert mail.outbox == []


def test_a_known_sender_is_linked_by_email_or_phone(alice, customer, defect):
    party_create(
        actor=alice,
        kind="person",
        first_name="Paul",
        last_name="Telefon",
        phones=[{"value": "+49 40 1234567"}],
    )
    by_mail = services.case_create(
        actor=alice,
        channel="email",
        category=defect,
        subject="x",
        sender_name="Irgendwer",
        sender_email="SERVICE@schulz.example",
    )
    assert by_mail.party == customer
    by_phone = services.case_create(
        actor=alice,
        channel="phone",
        category=defect,
        subject="x",
        sender_name="Paul",
        sender_phone="040 1234567",
    )
    assert by_phone.party.name == "Paul Telefon"


def test_an_unknown_sender_becomes_a_person_after_the_duplicate_check(alice, defect):
    party_create(actor=alice, kind="person", first_name="Greta", last_name="Hoffmann")
    with pytest.raises(ValidationError, match="may already exist"):
        services.case_create(
            actor=alice,
            channel="phone",
            category=defect,
            subject="x",
            sender_name="Greta Hofmann",
            sender_email="greta@example.org",
        )
    case = services.case_create(
        actor=alice,
        channel="phone",
        category=defect,
        subject="x",
        sender_name="Greta Hofmann",
        sender_email="greta@example.org",
        create_new_party=True,
    )
    assert case.party.name == "Greta Hofmann"
    assert case.party.kind == "person"
    assert Party.objects.filter(last_name__startswith="Ho").count() == 2
    fresh = services.case_create(
        actor=alice,
        channel="phone",
        category=defect,
        subject="y",
        sender_name="Zoran Neumannsky",
    )
    assert fresh.party.name == "Zoran Neumannsky"


def test_internal_notes_never_reach_the_customer(
    alice, customer, defect, django_capture_on_commit_callbacks
):
    from kreis.service.queries import case_timeline

    case = _case(alice, customer, defect, language="de")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_add_note(actor=alice, case=case, body="Kulanz intern: max 50 EUR")
        services.case_reply(actor=alice, case=case, body="Wir tauschen die Dichtung.")
    assert len(mail.outbox) == 1
    assert "Wir tauschen die Dichtung." in mail.outbox[0].body
    assert "Kulanz" not in mail.outbox[0].body
    shown = [e["item"].body for e in case_timeline(case=case, customer_view=True)]
    assert "Wir tauschen die Dichtung." in shown
    assert not any("Kulanz" in body for body in shown)


def test_read_only_users_and_outsiders_cannot_change_a_case(
    alice, rory, sam, otto, customer, defect
):
    AssignmentRule.objects.create(position=1, name="Defects", category=defect, assign_user=sam)
    case = _case(alice, customer, defect)
    with pytest.raises(PermissionDenied):
        services.case_add_note(actor=rory, case=case, body="x")
    with pytest.raises(PermissionDenied):
        services.case_transition(actor=otto, case=case, to_status="acknowledged")
    with pytest.raises(PermissionDenied):
        _case(rory, customer, defect)
    assert Case.objects.get(pk=case.pk).status == "received"
