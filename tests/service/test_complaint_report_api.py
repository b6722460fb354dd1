"""The complaint report through the API: the caller's own subscriptions, and the archive for
those who see every case (administrators and sales managers)."""

import datetime as dt

import pytest

from kreis.service.models import ComplaintReport, ReportSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def archived(db):
    return ComplaintReport.objects.create(
        frequency="weekly",
        period_start=dt.date(2026, 3, 2),
        period_end=dt.date(2026, 3, 8),
        language="de",
        pdf=b"%PDF-1.7 report",
        sent_to=2,
    )


def test_a_manager_subscribes_to_the_weekly_report_and_ends_it(api, mia):
    call = api(mia)
    assert call("get", "/cases/report-subscriptions").json() == {"weekly": False, "monthly": False}
    response = call("put", "/cases/report-subscriptions/weekly", {"active": True})
    assert response.status_code == 200
    assert response.json() == {"weekly": True, "monthly": False}
    assert ReportSubscription.objects.get(user=mia).is_active
    ended = call("put", "/cases/report-subscriptions/weekly", {"active": False})
    assert ended.json() == {"weekly": False, "monthly": False}
    assert call("put", "/cases/report-subscriptions/daily", {"active": True}).status_code == 422


def test_a_manager_lists_and_downloads_archived_reports(api, mia, archived):
    call = api(mia)
    listed = call("get", "/cases/reports").json()
    assert [(r["id"], r["period_start"], r["sent_to"]) for r in listed["items"]] == [
        (archived.pk, "2026-03-02", 2)
    ]
    pdf = call("get", f"/cases/reports/{archived.pk}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == b"%PDF-1.7 report"
    assert "2026-03-02" in pdf["Content-Disposition"] or "2026" in pdf["Content-Disposition"]


def test_a_service_agent_neither_subscribes_nor_sees_the_archive(api, sam, archived):
    call = api(sam)
    refused = call("put", "/cases/report-subscriptions/monthly", {"active": True})
    assert refused.status_code == 403
    assert not ReportSubscription.objects.exists()
    assert call("get", "/cases/reports").json()["items"] == []
    assert call("get", f"/cases/reports/{archived.pk}/pdf").status_code == 404


def test_a_sales_rep_has_no_report_routes(api, alice, archived):
    call = api(alice)
    assert call("get", "/cases/report-subscriptions").status_code == 403
    assert call("get", "/cases/reports").status_code == 403
    assert call("get", f"/cases/reports/{archived.pk}/pdf").status_code == 404
