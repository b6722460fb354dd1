"""Sending a mailing through a real SMTP server (aiosmtpd on loopback): who gets it and who
is skipped with which reason, the checks before every send, pause and resume, and no mail
twice after a worker stopped in the middle of a batch."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from kreis.activities.models import Activity, ActivityKind
from kreis.comms.bounces import Bounce, bounce_record
from kreis.mailings import results, sending, services
from kreis.mailings.models import MailingState, Recipient, RecipientState, SkipReason
from kreis.marketing.consent import services as consent
from kreis.marketing.models import Consent
from tests.mailings.conftest import CONFIRMED, EXISTING, PENDING, WITHDRAWN, give_consent, person
from tests.smtpserver import body_text

pytestmark = pytest.mark.django_db


def _start(mailing, actor, capture):
    with capture(execute=True):
        return services.mailing_start(actor=actor, mailing=mailing)


def _states(mailing) -> dict[str, tuple[str, str]]:
    return {r.email: (r.state, r.skip_reason) for r in Recipient.objects.filter(mailing=mailing)}


def test_only_confirmed_and_existing_customers_get_the_mailing(
    mailing, mara, smtp_inbox, django_capture_on_commit_callbacks
):
    assert _start(mailing, mara, django_capture_on_commit_callbacks) == 4

    received = sorted(address for rcpts, _m in smtp_inbox.messages for address in rcpts)
    assert received == [CONFIRMED, EXISTING]
    assert _states(mailing) == {
        CONFIRMED: ("sent", ""),
        EXISTING: ("sent", ""),
        PENDING: ("skipped", SkipReason.CONSENT_PENDING),
        WITHDRAWN: ("skipped", SkipReason.CONSENT_WITHDRAWN),
    }
    mailing.refresh_from_db()
    assert mailing.state == MailingState.FINISHED
    message = smtp_inbox.to(CONFIRMED)[0]
    assert message["Subject"] == "Neuigkeiten für Anna"
    assert "Hallo Anna Kunde" in body_text(message)
    assert (
        str(message["List-Unsubscribe"])
        .strip()
        .startswith("<https://crm.example.com/consent/unsubscribe/")
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    recipient = Recipient.objects.get(mailing=mailing, email=CONFIRMED)
    assert message["Message-ID"] == recipient.message_id
    # Once on each recipient's timeline, as an outbound e-mail.
    activities = Activity.objects.filter(
        kind=ActivityKind.EMAIL, external_id__startswith="mailing:"
    )
    assert sorted(a.party_id for a in activities) == sorted(
        r.party_id for r in Recipient.objects.filter(mailing=mailing, state="sent")
    )


def test_template_in_the_recipients_language(
    mailing, mara, dana, customers, smtp_inbox, django_capture_on_commit_callbacks
):
    from kreis.comms.services import template_save

    template_save(
        actor=dana,
        name="Spring",
        language="de",
        subject="Hallo {{ party.first_name }}",
        body="Deutsch",
    )
    template_save(
        actor=dana,
        name="Spring",
        language="en",
        subject="Hello {{ party.first_name }}",
        body="English",
    )
    for address, language in ((CONFIRMED, "en"), (EXISTING, "de")):
        customers[address].custom = {"language": language}
        customers[address].save()
    services.mailing_update(actor=mara, mailing=mailing, template_name="Spring")
    _start(mailing, mara, django_capture_on_commit_callbacks)

    assert smtp_inbox.to(CONFIRMED)[0]["Subject"] == "Hello Anna"
    assert body_text(smtp_inbox.to(CONFIRMED)[0]).startswith("English")
    assert smtp_inbox.to(EXISTING)[0]["Subject"] == "Hallo Emil"


def test_suppressed_and_hard_bounced_addresses_are_skipped(
    mailing, mara, segment, alice, north, smtp_inbox, django_capture_on_commit_callbacks
):
    from kreis.marketing.models import SegmentMember

    blocked = person("Bea", "bea@blocked.example", owner=alice, team=north)
    give_consent(blocked, "bea@blocked.example", how="existing", actor=mara)
    SegmentMember.objects.create(segment=segment, party=blocked)
    services.suppression_add(actor=mara, value="blocked.example", reason="Complaint")
    bounce_record(bounce=Bounce(address=EXISTING, status="5.1.1", hard=True, diagnostic="gone"))

    _start(mailing, mara, django_capture_on_commit_callbacks)

    assert [r for rcpts, _m in smtp_inbox.messages for r in rcpts] == [CONFIRMED]
    states = _states(mailing)
    assert states["bea@blocked.example"] == ("skipped", SkipReason.SUPPRESSED)
    assert states[EXISTING] == ("skipped", SkipReason.HARD_BOUNCE)


def test_withdrawal_during_a_running_mailing_is_honoured(mailing, mara, smtp_inbox):
    services.mailing_start(actor=mara, mailing=mailing)  # the job is not run (no commit)
    assert sending.run(mailing.pk, max_messages=1).sent == 1  # Anna, the first
    # Emil unsubscribes while the mailing runs; the list was built with him on it.
    consent.withdraw(Consent.objects.get(email=EXISTING), via=consent.Via.ONE_CLICK)
    sending.run(mailing.pk)

    assert [r for rcpts, _m in smtp_inbox.messages for r in rcpts] == [CONFIRMED]
    assert _states(mailing)[EXISTING] == ("skipped", SkipReason.CONSENT_WITHDRAWN)


def test_an_e_mail_opt_out_in_the_channel_preferences_is_honoured_before_the_send(
    mailing, mara, customers, smtp_inbox
):
    from kreis.channels.services import opt_out

    services.mailing_start(actor=mara, mailing=mailing)  # the job is not run (no commit)
    # Anna has a confirmed double opt-in, but tells her rep she wants no e-mail at all.
    opt_out(actor=mara, party=customers[CONFIRMED], channel="email", note="Am Telefon")
    sending.run(mailing.pk)

    assert [r for rcpts, _m in smtp_inbox.messages for r in rcpts] == [EXISTING]
    assert _states(mailing)[CONFIRMED] == ("skipped", SkipReason.OPTED_OUT)


def test_pause_and_resume(mailing, mara, smtp_inbox, django_capture_on_commit_callbacks):
    services.mailing_start(actor=mara, mailing=mailing)
    sending.run(mailing.pk, max_messages=1)
    services.mailing_pause(actor=mara, mailing=mailing)

    assert sending.run(mailing.pk).stopped == MailingState.PAUSED
    assert len(smtp_inbox.messages) == 1
    counts = results.counts(mailing)
    assert (counts.sent, counts.queued) == (1, 3)

    with django_capture_on_commit_callbacks(execute=True):
        services.mailing_resume(actor=mara, mailing=mailing)
    assert sorted(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == [CONFIRMED, EXISTING]
    mailing.refresh_from_db()
    assert mailing.state == MailingState.FINISHED
    with pytest.raises(ValidationError):
        services.mailing_resume(actor=mara, mailing=mailing)


def test_cancel_stops_the_rest(mailing, mara, smtp_inbox):
    services.mailing_start(actor=mara, mailing=mailing)
    services.mailing_cancel(actor=mara, mailing=mailing)
    sending.run(mailing.pk)
    assert smtp_inbox.messages == []
    assert results.counts(mailing).cancelled == 4


def test_no_mail_twice_after_a_worker_stopped_mid_batch(mailing, mara, smtp_inbox):
    services.mailing_start(actor=mara, mailing=mailing)
    token = sending.claim_batch(mailing.pk, 10)
    rows = list(Recipient.objects.filter(claim_token=token).select_related("party").order_by("pk"))
    connection = sending.get_connection()
    domain = sending.sender_domain()
    # The worker sends Anna and records it, then hands Paul's row… (skipped: pending) and
    # Wera's… (skipped) — and Emil's mail to SMTP, and is killed before recording it.
    for row in rows[:3]:
        outcome = sending.deliver(
            row, mailing=mailing, connection=connection, domain=domain, cache={}
        )
        sending.record(row, token=token, mailing=mailing, outcome=outcome)
    killed = sending.deliver(
        rows[3], mailing=mailing, connection=connection, domain=domain, cache={}
    )
    assert killed.state == RecipientState.SENT, killed
    # A second worker cannot take the claimed row; after the lease, recovery decides.
    assert sending.claim_batch(mailing.pk, 10) is None
    assert sending.recover_stale(mailing.pk, lease=0) == (0, 1)
    sending.run(mailing.pk)

    per_address = Counter(r for rcpts, _m in smtp_inbox.messages for r in rcpts)
    assert per_address == {CONFIRMED: 1, EXISTING: 1}
    assert _states(mailing)[EXISTING] == (RecipientState.UNCERTAIN, "")
    mailing.refresh_from_db()
    assert mailing.state == MailingState.FINISHED


def test_unstarted_rows_of_a_stopped_worker_are_sent_by_another(mailing, mara, smtp_inbox):
    services.mailing_start(actor=mara, mailing=mailing)
    token = sending.claim_batch(mailing.pk, 10)
    first = Recipient.objects.filter(claim_token=token).order_by("pk").first()
    outcome = sending.deliver(
        first,
        mailing=mailing,
        connection=sending.get_connection(),
        domain=sending.sender_domain(),
        cache={},
    )
    sending.record(first, token=token, mailing=mailing, outcome=outcome)
    # Killed between two rows: the next row (Paul's, lowest unfinished) is uncertain, the
    # others go back to the queue and are sent.
    assert sending.recover_stale(mailing.pk, lease=0) == (2, 1)
    sending.run(mailing.pk)
    assert Counter(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == {
        CONFIRMED: 1,
        EXISTING: 1,
    }


def test_a_claim_taken_over_after_its_lease_is_not_sent_by_its_old_worker(
    mailing, mara, smtp_inbox
):
    services.mailing_start(actor=mara, mailing=mailing)
    token = sending.claim_batch(mailing.pk, 10)
    assert sending.renew(token)
    sending.recover_stale(mailing.pk, lease=0)  # a slow worker's lease ran out
    assert not sending.renew(token)  # so it sends nothing more of that claim
    sending.run(mailing.pk)
    assert Counter(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == {EXISTING: 1}


def test_rows_marked_as_started_of_a_killed_worker_are_uncertain_not_sent_again(
    mailing, mara, smtp_inbox
):
    services.mailing_start(actor=mara, mailing=mailing)
    token = sending.claim_batch(mailing.pk, 10)
    rows = list(Recipient.objects.filter(claim_token=token).select_related("party").order_by("pk"))
    domain = sending.sender_domain()
    # The worker marks Anna's and Paul's rows as started, hands Anna's mail to SMTP and is
    # killed before the next commit: both marked rows are uncertain, the others go back.
    assert sending.commit_step(
        [], token=token, mailing=mailing, start=[r.pk for r in rows[:2]], domain=domain
    )
    outcome = sending.deliver(
        rows[0], mailing=mailing, connection=sending.get_connection(), domain=domain, cache={}
    )
    assert outcome.state == RecipientState.SENT
    assert sending.recover_stale(mailing.pk, lease=0) == (2, 2)
    sending.run(mailing.pk)

    assert Counter(r for rcpts, _m in smtp_inbox.messages for r in rcpts) == {
        CONFIRMED: 1,
        EXISTING: 1,
    }
    uncertain = Recipient.objects.get(mailing=mailing, email=CONFIRMED)
    assert uncertain.state == RecipientState.UNCERTAIN
    # A reply's In-Reply-To still finds the row.
    assert uncertain.message_id == smtp_inbox.to(CONFIRMED)[0]["Message-ID"]


def test_a_withdrawal_after_the_batch_was_read_is_honoured_before_the_send(
    mailing, mara, smtp_inbox
):
    services.mailing_start(actor=mara, mailing=mailing)
    token = sending.claim_batch(mailing.pk, 10)
    rows = list(Recipient.objects.filter(claim_token=token).select_related("party").order_by("pk"))
    checks = sending.batch_checks(rows, purpose=mailing.purpose)
    emil = next(r for r in rows if r.email == EXISTING)
    assert checks[emil.pk][0] is not None
    # Emil unsubscribes and Anna's address is suppressed after the batch's checks were read.
    consent.withdraw(Consent.objects.get(email=EXISTING), via=consent.Via.ONE_CLICK)
    services.suppression_add(actor=mara, value=CONFIRMED, reason="Complaint")
    outcomes = {
        row.email: sending.deliver(
            row,
            mailing=mailing,
            connection=sending.get_connection(),
            domain=sending.sender_domain(),
            cache={},
            checked=checks[row.pk],
        )
        for row in rows
    }
    assert smtp_inbox.messages == []
    assert outcomes[EXISTING].reason == SkipReason.CONSENT_WITHDRAWN
    assert outcomes[CONFIRMED].reason == SkipReason.SUPPRESSED
