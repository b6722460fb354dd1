"""The complaint report (DOMAIN.md §5, reporting): periods, the PDF, sending to subscribers
through a real SMTP server with the PDF attached, never twice for a period; subscriptions and
the archive are for those who see every case; the CLI."""

# ruff: noqa: F811  (the tests take the imported aiosmtpd fixture smtp_inbox as an argument)

import datetime as dt
import io
import re
import zlib
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from kreis.core.models import Role
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.analysis import reports
from kreis.service.analysis.figures import Period
from kreis.service.models import Case, ComplaintReport, ReportSubscription
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8), grain="week")


def pdf_text(pdf: bytes) -> bytes:
    """The PDF's bytes with its compressed streams inflated (the metadata lives in one)."""
    out = pdf
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out += zlib.decompress(match.group(1))
        except zlib.error:
            continue
    return out


@pytest.fixture
def complaint(mia, defect):
    party = party_create(actor=mia, kind="organization", name="Pumpen GmbH")
    made = services.case_create(
        actor=mia,
        party=party,
        channel="phone",
        category=defect,
        subject="Pumpe leckt",
        severity="high",
        acknowledge=False,
    )
    Case.objects.filter(pk=made.pk).update(created_at=dt.datetime(2026, 3, 3, 9, tzinfo=BERLIN))
    return made


@pytest.fixture
def manager_de(north):
    return UserFactory(
        username="greta",
        email="greta@example.org",
        role=Role.SALES_MANAGER,
        language="de",
        first_name="Greta",
    )


@pytest.fixture
def admin_en(db):
    return UserFactory(
        username="adam", email="adam@example.org", role=Role.ADMIN, language="en", first_name="Adam"
    )


def test_periods_are_whole_weeks_and_months():
    assert reports.report_period("weekly", dt.date(2026, 3, 4)) == WEEK
    assert reports.report_period("monthly", dt.date(2026, 2, 10)) == Period(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28), grain="month"
    )
    monday = dt.date(2026, 3, 9)
    assert reports.last_complete_period("weekly", monday) == WEEK
    assert reports.last_complete_period("monthly", dt.date(2026, 3, 1)).start == dt.date(2026, 2, 1)
    assert reports.due_frequencies(monday) == ["weekly"]
    assert reports.due_frequencies(dt.date(2026, 6, 1)) == ["weekly", "monthly"]
    assert reports.due_frequencies(dt.date(2026, 3, 10)) == []


def test_the_report_is_a_pdf_naming_its_period(complaint):
    html = reports.report_html(period=WEEK, language="de", frequency="weekly")
    assert "02.03.2026 – 08.03.2026" in html
    assert "Beschwerdebericht" in html
    assert "Produktmangel" in html
    pdf = reports.report_pdf(html, title=reports.report_title(WEEK, "de"))
    assert pdf.startswith(b"%PDF")
    assert b"Beschwerdebericht 2026-03-02/2026-03-08" in pdf_text(pdf)


def test_the_report_escapes_what_users_typed(mia, defect, root_cause):
    from kreis.service.models import ImprovementAction

    ImprovementAction.objects.create(root_cause=root_cause, title="<script>alert(1)</script>")
    today = timezone.localdate()
    html = reports.report_html(period=Period(today - dt.timedelta(days=6), today), language="en")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_subscribers_get_one_pdf_per_language_over_smtp_and_never_twice(
    complaint,
    manager_de,
    admin_en,
    smtp_inbox,
):
    for user in (manager_de, admin_en):
        reports.report_subscription_set(actor=user, frequency="weekly", active=True)
    reports.report_subscription_set(actor=admin_en, frequency="monthly", active=True)

    monday = dt.datetime(2026, 3, 9, 6, 7, tzinfo=BERLIN)
    result = reports.reports_send(frequency="weekly", period=WEEK, now=monday)

    assert (result.sent, result.failed) == (2, 0)
    assert len(smtp_inbox.messages) == 2
    by_recipient = {tuple(rcpt): message for rcpt, message in smtp_inbox.messages}
    german = by_recipient[("greta@example.org",)]
    assert "Beschwerdebericht 02.03.2026" in german["Subject"]
    attachment = next(german.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "complaint-report-weekly-2026-03-02-2026-03-08-de.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    english = by_recipient[("adam@example.org",)]
    assert "Complaint report" in english["Subject"]
    # One archived PDF per language, each sent to one subscriber.
    archived = ComplaintReport.objects.filter(frequency="weekly").order_by("language")
    assert [(r.language, r.sent_to, r.period_start) for r in archived] == [
        ("de", 1, WEEK.start),
        ("en", 1, WEEK.start),
    ]

    again = reports.reports_send(
        frequency="weekly", period=WEEK, now=monday + dt.timedelta(hours=1)
    )

    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp_inbox.messages) == 2
    assert ComplaintReport.objects.count() == 2
    # The next week goes out again, on the Monday after it.
    next_week = Period(dt.date(2026, 3, 9), dt.date(2026, 3, 15))
    later = monday + dt.timedelta(days=7)
    assert reports.reports_send(frequency="weekly", period=next_week, now=later).sent == 2


def test_a_failed_mail_is_logged_and_sent_by_the_next_run(
    complaint,
    manager_de,
    smtp_inbox,
    settings,
    caplog,
):
    reports.report_subscription_set(actor=manager_de, frequency="weekly", active=True)
    good_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    settings.EMAIL_TIMEOUT = 2

    failed = reports.reports_send(frequency="weekly", period=WEEK)

    assert (failed.sent, failed.failed) == (0, 1)
    assert "failed" in caplog.text
    assert ReportSubscription.objects.get(user=manager_de).last_sent_at is None
    settings.EMAIL_PORT = good_port
    assert reports.reports_send(frequency="weekly", period=WEEK).sent == 1
    assert len(smtp_inbox.messages) == 1


def test_the_job_sends_on_mondays_only(complaint, manager_de, smtp_inbox):
    reports.report_subscription_set(actor=manager_de, frequency="weekly", active=True)
    assert reports.reports_send_due(today=dt.date(2026, 3, 10)) == []
    [result] = reports.reports_send_due(today=dt.date(2026, 3, 9))
    assert result.period == WEEK
    assert result.sent == 1


def test_inactive_users_and_ended_subscriptions_get_nothing(
    complaint,
    manager_de,
    admin_en,
    smtp_inbox,
):
    reports.report_subscription_set(actor=manager_de, frequency="weekly", active=True)
    reports.report_subscription_set(actor=admin_en, frequency="weekly", active=True)
    reports.report_subscription_set(actor=admin_en, frequency="weekly", active=False)
    type(manager_de).objects.filter(pk=manager_de.pk).update(is_active=False)
    assert reports.reports_send(frequency="weekly", period=WEEK).sent == 0
    assert smtp_inbox.messages == []


# --- Subscriptions and archive on the page ---------------------------------------------------


def test_a_manager_subscribes_and_unsubscribes_herself_on_the_page(mia):
    client = Client()
    client.force_login(mia)
    response = client.post(
        "/cases/analysis/subscription/", {"frequency": "monthly", "active": "1"}, follow=True
    )
    assert response.status_code == 200
    assert ReportSubscription.objects.get(user=mia, frequency="monthly").is_active
    client.post("/cases/analysis/subscription/", {"frequency": "monthly", "active": "0"})
    assert not ReportSubscription.objects.get(user=mia, frequency="monthly").is_active


def test_a_service_agent_may_not_subscribe_to_the_report_over_all_cases(sam):
    client = Client()
    client.force_login(sam)
    page = client.get("/cases/analysis/")
    assert page.status_code == 200
    assert 'data-testid="subscriptions"' not in page.content.decode()
    response = client.post("/cases/analysis/subscription/", {"frequency": "weekly", "active": "1"})
    assert response.status_code == 403
    assert not ReportSubscription.objects.exists()


def test_a_sales_rep_may_not_subscribe(alice):
    client = Client()
    client.force_login(alice)
    response = client.post("/cases/analysis/subscription/", {"frequency": "weekly", "active": "1"})
    assert response.status_code == 403
    assert not ReportSubscription.objects.exists()


def test_the_subscription_form_needs_the_csrf_token(mia):
    client = Client(enforce_csrf_checks=True)
    client.force_login(mia)
    response = client.post("/cases/analysis/subscription/", {"frequency": "weekly", "active": "1"})
    assert response.status_code == 403
    assert not ReportSubscription.objects.exists()


def test_the_archive_is_listed_and_downloadable_for_managers_only(mia, sam, alice):
    report = ComplaintReport.objects.create(
        frequency="weekly",
        period_start=WEEK.start,
        period_end=WEEK.end,
        language="de",
        pdf=b"%PDF-1.7 archived",
        sent_to=3,
    )
    manager = Client()
    manager.force_login(mia)
    page = manager.get("/cases/analysis/").content.decode()
    assert f"/cases/analysis/reports/{report.pk}/" in page
    download = manager.get(f"/cases/analysis/reports/{report.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content == b"%PDF-1.7 archived"
    for user in (sam, alice):
        client = Client()
        client.force_login(user)
        assert client.get(f"/cases/analysis/reports/{report.pk}/").status_code == 404


def test_the_report_page_and_pdf_over_the_users_cases(mia, complaint):
    client = Client()
    client.force_login(mia)
    page = client.get("/cases/analysis/report/?frequency=weekly&period_end=2026-03-04")
    assert page.status_code == 200
    assert 'data-testid="report-period"' in page.content.decode()
    pdf = client.get("/cases/analysis/report/?frequency=weekly&period_end=2026-03-04&format=pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert b"2026-03-02/2026-03-08" in pdf_text(pdf.content)


# --- CLI ---------------------------------------------------------------------------------------


def test_the_cli_writes_and_sends_the_report(complaint, manager_de, smtp_inbox, tmp_path):
    reports.report_subscription_set(actor=manager_de, frequency="weekly", active=True)
    target = tmp_path / "report.pdf"
    out = io.StringIO()
    call_command(
        "cases",
        "report",
        "--frequency",
        "weekly",
        "--period-end",
        "2026-03-08",
        "--output",
        str(target),
        "--send",
        stdout=out,
    )
    assert target.read_bytes().startswith(b"%PDF")
    assert "sent to 1 subscriber(s)" in out.getvalue()
    assert len(smtp_inbox.messages) == 1
    call_command(
        "cases",
        "report",
        "--frequency",
        "weekly",
        "--period-end",
        "2026-03-08",
        "--send",
        stdout=out,
    )
    assert len(smtp_inbox.messages) == 1


def test_the_cli_refuses_a_bad_date():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(
            "cases", "report", "--frequency", "weekly", "--period-end", "8.3.2026", "--send"
        )


def test_an_administrator_subscribes_managers_in_the_django_admin_but_not_agents(mia, sam):
    # An administrator who is no superuser: the admin pages follow the rules of service.rules.
    admin_user = UserFactory(username="root", role=Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(admin_user)
    url = "/django-admin/service/reportsubscription/add/"
    refused = client.post(url, {"user": sam.pk, "frequency": "weekly", "is_active": "on"})
    assert refused.status_code == 200
    assert not ReportSubscription.objects.filter(user=sam).exists()
    added = client.post(url, {"user": mia.pk, "frequency": "weekly", "is_active": "on"})
    assert added.status_code == 302
    assert ReportSubscription.objects.get(user=mia).is_active
    assert client.get("/django-admin/service/complaintreport/").status_code == 200
