"""Items appear for every channel, once per message, with the default assignment and the
first-response SLA; private mail never appears; replies record the first response."""

import datetime as dt

import pytest
from django.utils import timezone

from kreis.inbox.backfill import backfill
from kreis.inbox.models import InboxItem, SlaPolicy
from kreis.marketing.models import FormSubmission, LeadForm
from kreis.marketing.signals import form_submitted
from kreis.service import services as cases
from kreis.service.defaults import ensure_defaults
from kreis.service.models import CaseCategory, Channel
from kreis.service.models import SlaPolicy as CaseSla
from kreis.social import services as social
from kreis.social.models import Keyword
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def item_of(source_type, pk):
    return InboxItem.objects.get(source_type=source_type, source_id=pk)


def test_shared_mail_lands_in_inbox_with_party_and_owner(shared_mail, customer, alice, north):
    item = item_of("comms.message", shared_mail.pk)
    assert item.channel == "email"
    assert item.party == customer
    assert item.subject == "Angebot Pumpen"
    # Default: the linked party's owner and team.
    assert (item.assignee, item.assigned_team) == (alice, north)
    assert item.first_response_due_at == item.received_at + dt.timedelta(hours=8)


def test_private_mail_never_reaches_the_inbox(private_mail, shared_mail):
    assert not private_mail.is_shared
    assert not InboxItem.objects.filter(source_type="comms.message", source_id=private_mail.pk)
    backfill()
    assert InboxItem.objects.filter(channel="email").count() == 1


def test_reply_in_thread_records_first_response(shared_mail, mailbox, alice):
    from kreis.comms.store import store_mail
    from kreis.core.mailfetch import parse_mail
    from tests.inbox.conftest import raw_mail

    raw = raw_mail("alice@kreis.example", "Re: Angebot Pumpen", "<r1@kreis.example>",
                   reply_to="<a1@wexford.example>")  # fmt: skip
    store_mail(
        account=mailbox, mail=parse_mail(raw, full=True), folder="Sent", direction="outbound"
    )
    item = item_of("comms.message", shared_mail.pk)
    assert item.first_responded_at is not None
    assert item.first_responded_by == alice


def test_mention_item_and_reply_conversion(alice, north):
    ensure_defaults()
    Keyword.objects.create(term="Kreiswerk", kind="brand")
    source = social.source_create(actor=alice, name="Hook", kind="webhook")
    post = social.fetching.Post(
        external_id="1", url="https://social.example/1", text="Kreiswerk Pumpe ist kaputt",
        published_at=timezone.now(), author_handle="@eva@social.example",
    )  # fmt: skip
    mention = social.mentions_store(source=source, posts=[post])[1][0]
    item = item_of("social.mention", mention.pk)
    assert item.channel == "social"
    assert item.first_response_due_at is not None
    assert item.first_responded_at is None
    social.mention_reply(actor=alice, mention=mention, text="Wir melden uns!")
    item.refresh_from_db()
    assert item.first_responded_at is not None


def test_web_form_submission_links_its_lead(alice, north):
    lead = LeadFactory(owner=alice, team=north)
    form = LeadForm.objects.create(name="Kontakt", key="kontakt", fields=[])
    submission = FormSubmission.objects.create(
        form=form, lead=lead, outcome="created", data={"email": "x@y.example", "message": "Hallo"}
    )
    form_submitted.send(sender=LeadForm, submission=submission, visitor_uid="")
    item = item_of("marketing.formsubmission", submission.pk)
    assert item.lead == lead
    assert item.assignee == alice
    assert "Hallo" in item.excerpt


def test_complaint_message_and_case_reply(alice, north, customer):
    ensure_defaults()
    category = CaseCategory.objects.first()
    case = cases.case_create(
        actor=alice, channel=Channel.FORM, category=category, subject="Pumpe defekt",
        party=customer, description="Sie läuft nicht", acknowledge=False,
    )  # fmt: skip
    form_item = item_of("service.case", case.pk)
    message = cases.case_add_customer_message(actor=alice, case=case, body="Immer noch kaputt")
    item = item_of("service.casemessage", message.pk)
    assert item.case == case
    assert item.party == customer
    assert item.channel == "complaint"
    assert item.assignee == case.owner
    cases.case_reply(actor=alice, case=case, body="Techniker kommt morgen")
    item.refresh_from_db()
    form_item.refresh_from_db()
    assert item.first_responded_at is not None
    assert form_item.first_responded_at is not None


def test_survey_comment_becomes_item(alice, north, customer, django_capture_on_commit_callbacks):
    from kreis.feedback.models import Answer, Question, Response, Survey

    survey = Survey.objects.create(name="Zufriedenheit", owner=alice, team=north)
    question = Question.objects.create(
        survey=survey, kind="free_text", text_de="Was fehlt?", text_en="What is missing?"
    )
    score = Question.objects.create(survey=survey, kind="nps", text_de="NPS", text_en="NPS")
    with django_capture_on_commit_callbacks(execute=True):
        response = Response.objects.create(survey=survey, party=customer, channel="online",
                                           language="de")  # fmt: skip
        Answer.objects.create(response=response, question=question, text="Schnellere Lieferung")
        Answer.objects.create(response=response, question=score, value=9)
    items = InboxItem.objects.filter(channel="survey")
    assert [i.excerpt for i in items] == ["Schnellere Lieferung"]
    assert items[0].party == customer


def test_sla_policy_in_business_hours(shared_mail, deliver):
    ensure_defaults()
    calendar = CaseSla.objects.get(severity="medium")
    SlaPolicy.objects.create(channel="email", first_response_hours=2, calendar=calendar)
    friday_evening = dt.datetime(2025, 10, 3, 18, 0, tzinfo=dt.UTC)  # a holiday, then weekend
    from kreis.inbox.sla import first_response_due
    from kreis.service.sla import BusinessCalendar, add_business_hours

    due = first_response_due("email", friday_evening)
    assert due == add_business_hours(friday_evening, 2, BusinessCalendar.from_policy(calendar))
    assert due.weekday() == 0  # Monday


def test_backfill_is_idempotent(shared_mail, customer):
    InboxItem.objects.all().delete()
    assert backfill()["comms.message"] == 1
    assert backfill()["comms.message"] == 0
    assert InboxItem.objects.count() == 1
