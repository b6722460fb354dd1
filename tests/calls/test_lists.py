"""Call lists built from a segment or a campaign (phone consent decides who is called), worked
in order with results, call-backs coming back at their time, and never one entry for two."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind, CallOutcome
from kreis.calls import queries, services
from kreis.calls.models import CallListEntry, CallResult, EntryState, SkipReason, WrongNumber
from kreis.marketing.consent.services import may_contact
from kreis.marketing.models import ConsentStatus

pytestmark = pytest.mark.django_db


def build(mia, bob, segment=None, campaign=None, **kw):
    return services.call_list_create(
        actor=mia,
        name="Nachfass",
        segment=segment,
        campaign=campaign,
        assignees=[bob],
        team=mia.teams.first(),
        **kw,
    )


def state_of(call_list, party):
    return CallListEntry.objects.get(call_list=call_list, party=party)


def test_list_from_segment_calls_only_who_may_be_called_and_says_why_not(segment, people, mia, bob):
    built = build(mia, bob, segment=segment)
    entries = {e.party_id: e for e in built.call_list.entries.all()}
    open_ = {pk for pk, e in entries.items() if e.state == EntryState.OPEN}
    # anna, berta: phone and consent; fritz: an existing customer (documented basis) for offers.
    assert open_ == {people[k].pk for k in ("anna", "berta", "fritz")}
    assert entries[people["carl"].pk].skip_reason == SkipReason.NO_CONSENT
    assert entries[people["dora"].pk].skip_reason == SkipReason.NO_PHONE
    assert entries[people["emil"].pk].skip_reason == SkipReason.NO_CONSENT  # withdrawn since
    assert built.to_call == 3
    assert built.skipped == {SkipReason.NO_CONSENT: 2, SkipReason.NO_PHONE: 1}
    assert entries[people["anna"].pk].phone == "+4930111111"
    # The same rule as the consent module's, one party at a time.
    for key in ("anna", "berta", "carl", "emil"):
        allowed = may_contact(purpose="phone", channel="phone", party=people[key])
        assert (entries[people[key].pk].state == EntryState.OPEN) == allowed


def test_list_from_campaign_takes_its_members(campaign, people, mia, bob):
    built = build(mia, bob, campaign=campaign)
    assert {e.party_id for e in built.call_list.entries.all()} == {
        people["anna"].pk,
        people["carl"].pk,
    }
    assert built.to_call == 1


def test_a_list_needs_exactly_one_source_and_a_rep_cannot_build_one(segment, campaign, mia, bob):
    with pytest.raises(ValidationError) as exc:
        build(mia, bob)
    assert "source" in exc.value.message_dict
    with pytest.raises(ValidationError):
        build(mia, bob, segment=segment, campaign=campaign)
    with pytest.raises(PermissionDenied):
        build(bob, bob, segment=segment)


def test_working_the_list_goes_in_order_and_logs_calls_on_the_timeline(segment, people, mia, bob):
    call_list = build(mia, bob, segment=segment).call_list
    first = services.entry_claim_next(actor=bob, call_list=call_list)
    assert first.party == people["anna"]
    # Reloading the page gives the same entry back, not the next one.
    assert services.entry_claim_next(actor=bob, call_list=call_list) == first
    activity = services.entry_log(
        actor=bob, entry=first, result=CallResult.INTERESTED, notes="Will ein Angebot",
        duration_minutes=7,
    )  # fmt: skip
    assert activity.kind == ActivityKind.CALL
    assert activity.party == people["anna"]
    assert activity.outcome == CallOutcome.REACHED
    assert activity.duration_minutes == 7
    assert Activity.objects.get(pk=activity.pk).created_by == bob
    assert state_of(call_list, people["anna"]).state == EntryState.DONE

    second = services.entry_claim_next(actor=bob, call_list=call_list)
    assert second.party == people["berta"]
    services.entry_log(actor=bob, entry=second, result=CallResult.NO_ANSWER)
    entry = state_of(call_list, people["berta"])
    assert entry.state == EntryState.OPEN
    assert entry.attempts == 1
    third = services.entry_claim_next(actor=bob, call_list=call_list)
    assert third.party == people["fritz"]
    services.entry_log(actor=bob, entry=third, result=CallResult.NOT_INTERESTED)
    assert services.entry_claim_next(actor=bob, call_list=call_list) is None

    later = timezone.now() + services.RETRY_AFTER + dt.timedelta(minutes=1)
    again = services.entry_claim_next(actor=bob, call_list=call_list, now=later)
    assert again.party == people["berta"]
    r = queries.results(call_list)
    assert (r.finished, r.to_call) == (2, 3)
    assert r.results == {"interested": 1, "no_answer": 1, "not_interested": 1}


def test_channel_preferences_opt_outs_are_skipped_and_call_times_wait(segment, people, mia, bob):
    from kreis.channels.services import opt_out, preference_update

    opt_out(actor=mia, party=people["berta"], channel="phone", note="Nur schriftlich")
    call_list = build(mia, bob, segment=segment).call_list
    assert state_of(call_list, people["berta"]).skip_reason == SkipReason.OPTED_OUT
    # Anna wants calls only on weekdays from 9 to 12; fritz opts out after the list was built.
    preference_update(actor=mia, party=people["anna"], weekdays="12345",
                      time_from=dt.time(9), time_to=dt.time(12))  # fmt: skip
    opt_out(actor=mia, party=people["fritz"], channel="phone")
    tz = timezone.get_current_timezone()
    evening = dt.datetime(2026, 12, 7, 18, 0, tzinfo=tz)  # a Monday
    assert services.entry_claim_next(actor=bob, call_list=call_list, now=evening) is None
    assert state_of(call_list, people["anna"]).state == EntryState.OPEN  # waits for her hours
    fritz = state_of(call_list, people["fritz"])
    assert (fritz.state, fritz.skip_reason) == (EntryState.SKIPPED, SkipReason.OPTED_OUT)
    morning = dt.datetime(2026, 12, 8, 10, 0, tzinfo=tz)
    assert (
        services.entry_claim_next(actor=bob, call_list=call_list, now=morning).party
        == (people["anna"])
    )


def test_no_answer_ends_after_the_lists_attempts(segment, people, mia, bob):
    call_list = build(mia, bob, segment=segment, max_attempts=2).call_list
    now = timezone.now()
    for attempt in range(2):
        at = now + attempt * (services.RETRY_AFTER + dt.timedelta(minutes=1))
        entry = services.entry_claim_next(actor=bob, call_list=call_list, now=at)
        assert entry.party == people["anna"]
        services.entry_log(actor=bob, entry=entry, result=CallResult.BUSY, now=at)
    entry = state_of(call_list, people["anna"])
    assert (entry.state, entry.attempts) == (EntryState.DONE, 2)


def test_call_back_comes_back_at_its_time_before_the_rest(segment, people, mia, bob):
    call_list = build(mia, bob, segment=segment).call_list
    now = timezone.now()
    entry = services.entry_claim_next(actor=bob, call_list=call_list, now=now)
    with pytest.raises(ValidationError) as exc:
        services.entry_log(actor=bob, entry=entry, result=CallResult.CALL_BACK, now=now)
    assert "call_back_at" in exc.value.message_dict
    at = now + dt.timedelta(hours=3)
    services.entry_log(
        actor=bob, entry=entry, result=CallResult.CALL_BACK, call_back_at=at, now=now
    )
    assert (
        services.entry_claim_next(actor=bob, call_list=call_list, now=now).party
        == (people["berta"])
    )
    # At the agreed time anna comes first, although berta's claim is bob's and fritz is open.
    mia_next = services.entry_claim_next(actor=mia, call_list=call_list, now=at)
    assert mia_next.party == people["anna"]


def test_two_callers_never_get_the_same_entry(segment, people, mia, bob, alice):
    call_list = build(mia, bob, segment=segment).call_list
    call_list.assignees.add(alice)
    mine = services.entry_claim_next(actor=bob, call_list=call_list)
    theirs = services.entry_claim_next(actor=alice, call_list=call_list)
    assert mine.pk != theirs.pk
    # The race itself: both read the same free entry, only the first UPDATE takes it.
    free = CallListEntry.objects.get(call_list=call_list, party=people["fritz"])
    now = timezone.now()
    assert services._take(free, actor=bob, now=now) is True
    assert services._take(free, actor=alice, now=now) is False
    assert CallListEntry.objects.get(pk=free.pk).claimed_by == bob
    # And alice cannot log bob's entry.
    with pytest.raises(ValidationError):
        services.entry_log(actor=alice, entry=mine, result=CallResult.REACHED)


def test_an_abandoned_claim_goes_back_to_the_list(segment, people, mia, bob, alice):
    call_list = build(mia, bob, segment=segment).call_list
    call_list.assignees.add(alice)
    now = timezone.now()
    held = services.entry_claim_next(actor=bob, call_list=call_list, now=now)
    later = now + dt.timedelta(minutes=16)
    assert services.entry_claim_next(actor=alice, call_list=call_list, now=later) == held


def test_wrong_number_is_marked_and_the_next_list_skips_it(segment, people, mia, bob):
    call_list = build(mia, bob, segment=segment).call_list
    entry = services.entry_claim_next(actor=bob, call_list=call_list)
    services.entry_log(actor=bob, entry=entry, result=CallResult.WRONG_NUMBER)
    assert WrongNumber.objects.filter(party=people["anna"], phone="+4930111111").exists()
    again = build(mia, bob, segment=segment).call_list
    assert state_of(again, people["anna"]).skip_reason == SkipReason.WRONG_NUMBER


def test_does_not_want_calls_withdraws_the_phone_consent(segment, people, mia, bob):
    call_list = build(mia, bob, segment=segment).call_list
    entry = services.entry_claim_next(actor=bob, call_list=call_list)
    services.entry_log(actor=bob, entry=entry, result=CallResult.DO_NOT_CALL)
    assert people["anna"].consents.get().status == ConsentStatus.WITHDRAWN
    assert not may_contact(purpose="phone", channel="phone", party=people["anna"])


def test_csv_export_has_every_entry_with_formulas_defused(segment, people, mia, bob, tmp_path):
    people["carl"].name = '=HYPERLINK("http://evil")'
    people["carl"].save()
    call_list = build(mia, bob, segment=segment).call_list
    entry = services.entry_claim_next(actor=bob, call_list=call_list)
    services.entry_log(actor=bob, entry=entry, result=CallResult.REACHED)
    target = tmp_path / "out.csv"
    call_command("calls", "export", str(call_list.pk), "-o", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 6
    by_name = {r["party"]: r for r in rows}
    assert by_name["Anna Adler"]["result"] == "reached"
    assert by_name["Anna Adler"]["last_called_by"] == str(bob)
    assert '\'=HYPERLINK("http://evil")' in by_name
    assert by_name["Dora Dietz"]["skipped_because"] == "no_phone"


def test_cli_builds_and_lists(segment, bob, capsys):
    call_command("calls", "create", "--name", "CLI", "--segment", str(segment.pk), "--assign",
                 "bob")  # fmt: skip
    out = capsys.readouterr().out
    assert "3 to call" in out
    assert "no_consent: 2" in out
    call_command("calls", "lists")
    assert "CLI" in capsys.readouterr().out


def test_a_manager_gives_back_a_colleagues_stuck_entry_a_colleague_cannot(
    segment, people, mia, bob, alice
):
    call_list = build(mia, bob, segment=segment).call_list
    call_list.assignees.add(alice)
    held = services.entry_claim_next(actor=bob, call_list=call_list)
    with pytest.raises(ValidationError):
        services.entry_release(actor=alice, entry=held)
    services.entry_release(actor=mia, entry=held)
    assert services.entry_claim_next(actor=alice, call_list=call_list) == held
