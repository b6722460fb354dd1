"""Click-to-call from the pages (tel: links that log a call), and the call-list pages: who
sees which list, working one, results and the CSV download."""

from __future__ import annotations

import pytest

from kreis.activities.models import Activity, ActivityKind
from kreis.calls import services
from kreis.calls.models import CallListEntry, CallResult, EntryState
from kreis.leads.models import Lead
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_list(segment, mia, bob):
    return services.call_list_create(
        actor=mia, name="Messe-Nachfass", segment=segment, assignees=[bob],
        script="Guten Tag, hier ist …", team=mia.teams.first(),
    ).call_list  # fmt: skip


def test_party_page_numbers_are_tel_links_with_call_logging(people, alice):
    page = client_for(alice).get(f"/parties/{people['anna'].pk}/").content.decode()
    assert 'href="tel:+4930111111"' in page
    assert f'data-call-log="/calls/log/?phone=%2B4930111111&amp;party={people["anna"].pk}"' in page
    assert "Log call" in page  # the link for browsers without JavaScript


def test_a_user_who_cannot_change_the_party_gets_only_the_number(people, charlie, rory):
    page = client_for(rory).get(f"/parties/{people['anna'].pk}/").content.decode()
    assert 'href="tel:+4930111111"' in page
    assert "data-call-log" not in page


def test_lead_page_number_logs_on_the_lead(alice, north):
    lead = Lead.objects.create(
        first_name="Lena", last_name="Lang", phone="+4940123456", owner=alice, team=north
    )
    page = client_for(alice).get(f"/leads/{lead.pk}/").content.decode()
    assert 'href="tel:+4940123456"' in page
    assert f"lead={lead.pk}" in page


def test_logging_a_tel_click_puts_the_call_on_the_timeline(people, alice):
    anna = people["anna"]
    client = client_for(alice)
    form = client.get(f"/calls/log/?party={anna.pk}&phone=%2B4930111111&partial=1")
    assert form.status_code == 200
    assert b"<dialog" not in form.content
    answer = client.post(
        "/calls/log/",
        {"party": anna.pk, "phone": "+4930111111", "outcome": "reached",
         "direction": "outbound", "duration_minutes": "4", "notes": "Angebot besprochen"},
        HTTP_ACCEPT="application/json",
    )  # fmt: skip
    assert answer.status_code == 201
    call = Activity.objects.get(pk=answer.json()["id"])
    assert (call.kind, call.party, call.outcome, call.duration_minutes) == (
        ActivityKind.CALL, anna, "reached", 4,
    )  # fmt: skip
    assert "+4930111111" in call.subject
    assert call.owner == alice
    timeline = client.get(f"/activities/timeline/?party={anna.pk}").content.decode()
    assert "4 minutes" in timeline
    assert "Reached" in timeline


def test_the_no_javascript_form_page_redirects_back_and_keeps_bad_input(people, alice):
    anna = people["anna"]
    client = client_for(alice)
    bad = client.post(
        "/calls/log/", {"party": anna.pk, "outcome": "reached", "direction": "outbound",
                        "duration_minutes": "5000", "notes": "Rückruf Dienstag"},
    )  # fmt: skip
    assert bad.status_code == 200
    assert "Rückruf Dienstag" in bad.content.decode()
    assert not Activity.objects.filter(kind="call").exists()
    good = client.post(
        "/calls/log/", {"party": anna.pk, "outcome": "busy", "direction": "outbound"}
    )
    assert good.status_code == 302
    assert good["Location"] == f"/parties/{anna.pk}/"


def test_nobody_logs_a_call_on_a_party_they_cannot_see(people, charlie):
    answer = client_for(charlie).post(
        "/calls/log/", {"party": people["anna"].pk, "outcome": "reached", "direction": "outbound"}
    )
    assert answer.status_code == 404
    assert not Activity.objects.exists()


def test_lists_are_seen_by_assignees_team_and_managers_only(call_list, bob, charlie, mia, dana):
    for user, sees in ((bob, True), (mia, True), (dana, True), (charlie, False)):
        client = client_for(user)
        assert (call_list.name in client.get("/calls/").content.decode()) is sees
        assert client.get(f"/calls/lists/{call_list.pk}/").status_code == (200 if sees else 404)


def test_a_rep_of_another_team_assigned_to_the_list_sees_and_works_it(call_list, charlie):
    call_list.assignees.add(charlie)
    page = client_for(charlie).post(f"/calls/lists/{call_list.pk}/work/", follow=True)
    assert page.status_code == 200
    assert "Anna Adler" in page.content.decode()


def test_read_only_user_cannot_work_a_list_and_a_rep_cannot_build_one(
    call_list, rory, bob, segment
):
    assert client_for(rory).get(f"/calls/lists/{call_list.pk}/").status_code == 200
    assert client_for(rory).get(f"/calls/lists/{call_list.pk}/work/").status_code == 403
    assert client_for(bob).get("/calls/lists/new/").status_code == 403
    assert client_for(bob).get(f"/calls/lists/{call_list.pk}/edit/").status_code == 403


def test_working_the_list_page_by_page(call_list, people, bob):
    client = client_for(bob)
    start = client.get(f"/calls/lists/{call_list.pk}/work/").content.decode()
    assert "3 entries are due now." in start
    assert "Call the next one" in start
    assert "Anna Adler" not in start  # opening the page takes nothing
    assert not CallListEntry.objects.filter(state=EntryState.CLAIMED).exists()
    page = client.post(f"/calls/lists/{call_list.pk}/work/", follow=True).content.decode()
    assert "Anna Adler" in page
    assert 'href="tel:+4930111111"' in page
    assert "Guten Tag, hier ist" in page  # the script
    entry = CallListEntry.objects.get(state=EntryState.CLAIMED)
    bad = client.post(f"/calls/entries/{entry.pk}/log/", {"result": "call_back", "notes": "x"})
    assert bad.status_code == 400
    assert "When should the call-back be?" in bad.content.decode()
    done = client.post(
        f"/calls/entries/{entry.pk}/log/", {"result": "interested", "duration_minutes": "6"}
    )
    assert done.status_code == 302
    assert done["Location"] == f"/calls/lists/{call_list.pk}/work/"
    assert "Berta Brandt" in client.get(done["Location"]).content.decode()
    detail = client.get(f"/calls/lists/{call_list.pk}/").content.decode()
    assert "1 of 3 done" in detail
    assert 'data-result="interested">1<' in detail
    assert (
        "No consent to calls for this purpose"
        in client.get(f"/calls/lists/{call_list.pk}/?state=skipped").content.decode()
    )


def test_build_a_list_in_the_form(segment, mia, bob):
    answer = client_for(mia).post(
        "/calls/lists/new/",
        {"name": "Messe", "segment": segment.pk, "purpose": "phone", "max_attempts": "3",
         "assignees": [bob.pk], "script": ""},
    )  # fmt: skip
    assert answer.status_code == 302
    page = client_for(mia).get(answer["Location"]).content.decode()
    assert "0 of 3 done" in page
    empty = client_for(mia).post(
        "/calls/lists/new/", {"name": "Ohne Quelle", "purpose": "phone", "max_attempts": "3"}
    )
    assert "Choose a segment or a campaign." in empty.content.decode()


def test_csv_download(call_list, bob):
    entry = services.entry_claim_next(actor=bob, call_list=call_list)
    services.entry_log(actor=bob, entry=entry, result=CallResult.NO_ANSWER)
    answer = client_for(bob).get(f"/calls/lists/{call_list.pk}/export.csv")
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("position,party_id,party,phone,state")
    assert "Anna Adler,+4930111111,open,,no_answer,1" in text
