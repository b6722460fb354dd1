"""A sent web form is taken at once and processed by a job: the visitor's answer never waits
for matching, scoring or mail, and no submission is lost — a processing that fails is kept
with its error, tried again by the sweeper, shown on the form's page when it keeps failing,
and processed again from there. On SQLite the submission waits in an inbox file of its own
until the job moves it into the database, once."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kreis.core import publicforms
from kreis.leads import services as lead_services
from kreis.leads.models import Lead
from kreis.marketing.models import FormSubmission, SubmissionOutcome
from kreis.marketing.webforms import inbox, services, tasks
from kreis.marketing.webforms.services import STAMP_SALT
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the inbox file is for SQLite installations"
)


@pytest.fixture
def webform(db):
    return services.form_create(
        actor=None,
        name="Contact",
        key="contact",
        language="en",
        fields=[
            {"key": "last_name", "label": "", "required": True},
            {"key": "email", "label": "", "required": True},
        ],
    )


def send(client, **data):
    body = {
        "stamp": publicforms.new_stamp(STAMP_SALT, at=time.time() - 60),
        "last_name": "Kraus",
        "email": "kim@kraus.example",
        **data,
    }
    return client.post(reverse("webform_public:submit", args=["contact"]), body)


@pytest.fixture
def broken_leads(monkeypatch):
    """Lead creation fails (a database hiccup, a bug): processing cannot finish."""

    def fail(**kwargs):
        raise RuntimeError("lead table unavailable")

    monkeypatch.setattr(lead_services, "lead_create", fail)


def test_a_submission_is_processed_into_a_lead(client, webform):
    assert send(client).status_code == 201
    submission = FormSubmission.objects.get()
    assert submission.outcome == SubmissionOutcome.CREATED
    assert submission.lead.last_name == "Kraus"
    assert submission.processed_at is not None
    assert submission.payload == {}  # what the job needed is not kept twice
    assert inbox.count() == 0


def test_a_failing_processing_keeps_the_submission_and_the_visitor_is_thanked(
    client, webform, broken_leads
):
    answer = send(client)
    assert answer.status_code == 201
    submission = FormSubmission.objects.get()
    assert submission.outcome == SubmissionOutcome.PENDING
    assert submission.attempts == 1
    assert "lead table unavailable" in submission.error
    assert submission.data["last_name"] == "Kraus"
    assert not Lead.objects.exists()


def test_the_sweeper_processes_a_failed_submission_once_the_cause_is_gone(
    client, webform, broken_leads, monkeypatch
):
    send(client)
    monkeypatch.undo()  # the cause is fixed
    later = timezone.now() + dt.timedelta(minutes=2)
    assert tasks.sweep(now=later) == (1, 0)
    submission = FormSubmission.objects.get()
    assert submission.outcome == SubmissionOutcome.CREATED
    assert submission.error == ""
    assert Lead.objects.get().email == "kim@kraus.example"
    # Processing twice makes no second lead.
    assert services.process(submission.pk) is None
    assert Lead.objects.count() == 1


def test_after_the_last_attempt_it_is_shown_as_failed_and_processed_again_from_the_page(
    client, webform, broken_leads, monkeypatch, dana
):
    send(client)
    later = timezone.now() + dt.timedelta(minutes=2)
    for _ in range(services.MAX_ATTEMPTS - 1):
        tasks.sweep(now=later)
    submission = FormSubmission.objects.get()
    assert submission.outcome == SubmissionOutcome.FAILED
    assert tasks.sweep(now=later) == (0, 0)  # no longer tried every minute

    admin = client_for(dana)
    page = admin.get(reverse("marketing:webforms:detail", args=[webform.pk])).content.decode()
    assert "1 submission could not be processed" in page
    assert "lead table unavailable" in page
    assert "Process again" in page

    monkeypatch.undo()
    retry = reverse("marketing:webforms:submission-retry", args=[webform.pk, submission.pk])
    assert admin.post(retry).status_code == 302
    submission.refresh_from_db()
    assert submission.outcome == SubmissionOutcome.CREATED
    page = admin.get(reverse("marketing:webforms:detail", args=[webform.pk])).content.decode()
    assert "could not be processed" not in page


def test_the_api_retries_a_failed_submission(
    client, webform, broken_leads, monkeypatch, dana, api_key_for
):
    send(client)
    FormSubmission.objects.update(outcome=SubmissionOutcome.FAILED)
    submission = FormSubmission.objects.get()
    monkeypatch.undo()
    url = f"/api/v1/marketing/forms/{webform.pk}/submissions/{submission.pk}/retry"
    headers = {"Authorization": f"Bearer {api_key_for(dana)}"}
    done = client.post(url, headers=headers)
    assert done.status_code == 200, done.content
    assert done.json()["outcome"] == "created"
    assert done.json()["attempts"] == 1
    # A processed one cannot be retried.
    again = client.post(url, headers=headers)
    assert again.status_code == 422


def test_a_sales_rep_cannot_retry(client, webform, broken_leads, alice):
    send(client)
    FormSubmission.objects.update(outcome=SubmissionOutcome.FAILED)
    submission = FormSubmission.objects.get()
    retry = reverse("marketing:webforms:submission-retry", args=[webform.pk, submission.pk])
    assert client_for(alice).post(retry).status_code in (403, 404)
    submission.refresh_from_db()
    assert submission.outcome == SubmissionOutcome.FAILED


@sqlite_only
def test_on_sqlite_a_submission_waits_in_the_inbox_until_moved_once(webform):
    kept = services.receive(
        webform,
        {"last_name": "Nowak", "email": "ola@nowak.example"},
        ip="192.0.2.7",
        user_agent="Firefox",
        page_url="https://shop.example/kontakt",
        referrer="",
        utm={"utm_source": "newsletter"},
        buffered=True,
    )
    assert kept.pk is None
    assert kept.intake_key
    assert inbox.count(webform.pk) == 1
    assert not FormSubmission.objects.exists()

    # A crash after the database took it but before the inbox let go: the next move skips it.
    rows = inbox.waiting()
    ids = services.move_waiting()
    assert inbox.count() == 0
    inbox.put(webform.pk, rows[0][2])  # the same row once more, under a new key …
    inbox._db().execute("UPDATE submission SET key = ?", (kept.intake_key,))  # … its own
    assert services.move_waiting() == ids
    assert inbox.count() == 0
    moved = FormSubmission.objects.get()  # one submission, not two
    assert [moved.pk] == ids
    assert moved.outcome == SubmissionOutcome.PENDING
    assert moved.utm_source == "newsletter"
    assert moved.ip_address == "192.0.2.7"

    assert tasks.process_new.call_local() == 1
    moved.refresh_from_db()
    assert moved.lead.last_name == "Nowak"


@sqlite_only
def test_on_sqlite_a_submission_of_a_deleted_form_is_dropped_with_the_form(webform):
    services.receive(
        webform,
        {"last_name": "Nowak", "email": "ola@nowak.example"},
        ip=None,
        user_agent="",
        page_url="",
        referrer="",
        utm={},
        buffered=True,
    )
    services.form_delete(actor=None, form=webform)
    assert services.move_waiting() == []
    assert inbox.count() == 0
    assert not FormSubmission.objects.exists()


def test_the_admin_processes_failed_submissions_again(client, webform, broken_leads, monkeypatch):
    send(client)
    FormSubmission.objects.update(outcome=SubmissionOutcome.FAILED)
    submission = FormSubmission.objects.get()
    monkeypatch.undo()
    admin = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    answer = admin.post(
        reverse("admin:marketing_formsubmission_changelist"),
        {"action": "process_again", "_selected_action": [submission.pk]},
        follow=True,
    )
    assert "1 submission is being processed again." in answer.content.decode()
    submission.refresh_from_db()
    assert submission.outcome == SubmissionOutcome.CREATED


def test_the_cli_processes_failed_submissions_after_the_cause_is_fixed(
    client, webform, broken_leads, monkeypatch
):
    from io import StringIO

    from django.core.management import call_command

    send(client)
    send(client, email="ole@kraus.example", last_name="Ole")
    FormSubmission.objects.update(outcome=SubmissionOutcome.FAILED)
    monkeypatch.undo()
    out = StringIO()
    call_command("marketing", "forms", "process", stdout=out)
    assert "0 submissions processed" in out.getvalue()
    assert "2 still pending or failed" in out.getvalue()
    out = StringIO()
    call_command("marketing", "forms", "process", "--failed", stdout=out)
    assert "2 submissions processed (2 failed ones put back first); 0 still" in out.getvalue()
    assert Lead.objects.count() == 2
