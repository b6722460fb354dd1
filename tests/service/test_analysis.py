"""The complaint analysis (DOMAIN.md §5, indirect process) on a small known data set: Pareto
order and cumulative shares, SLA compliance and business-hour durations, dissatisfied customers
with and without a case, complaint costs against the CLV retained; who may see it."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from kreis.core.models import Role
from kreis.feedback.models import Answer, Question, QuestionKind, Response, Survey
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.analysis import figures
from kreis.service.analysis.figures import BusinessClock, Period
from kreis.service.models import Case, CaseCategory, CaseCost, ImprovementAction
from kreis.service.sla import BusinessCalendar, business_hours_between
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 2 March 2026 to Sunday 8 March 2026 (no public holiday).
WEEK = Period(dt.date(2026, 3, 2), dt.date(2026, 3, 8))
NOW = dt.datetime(2026, 3, 9, 12, tzinfo=BERLIN)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def customer(actor, name: str, **figures_):
    party = party_create(actor=actor, kind="organization", name=name)
    if figures_:
        type(party).objects.filter(pk=party.pk).update(**figures_)
    return party


def case(actor, party, category, *, created, severity="medium", channel="phone", **times):
    """A case through the service, then its timestamps set as the data set needs them."""
    made = services.case_create(
        actor=actor,
        party=party,
        channel=channel,
        category=category,
        subject="Complaint",
        severity=severity,
        acknowledge=False,
    )
    Case.objects.filter(pk=made.pk).update(created_at=created, **times)
    return made


@pytest.fixture
def kinds(defect, billing):
    return {
        "defect": defect,
        "billing": billing,
        "delivery": CaseCategory.objects.get(kind="delivery"),
        "warranty": CaseCategory.objects.get(kind="warranty"),
    }


# --- Evaluation ---------------------------------------------------------------------------------


def test_pareto_sorts_by_count_and_marks_the_vital_few_up_to_80_percent(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    for kind, n in (("billing", 3), ("defect", 5), ("warranty", 1), ("delivery", 1)):
        for i in range(n):
            case(mia, party, kinds[kind], created=at(3, 9 + i))
    # One case outside the period counts nowhere.
    case(mia, party, kinds["warranty"], created=at(10, 9))

    data = figures.case_analysis(user=mia, period=WEEK, now=NOW)

    items = data["evaluation"]["category"]["items"]
    assert [(i["label"], i["count"]) for i in items] == [
        ("Product defect", 5),
        ("Billing", 3),
        # Equal counts: by key (the category's id).
        *sorted([("Delivery", 1), ("Warranty", 1)], key=lambda x: kinds[x[0].lower()].pk),
    ]
    assert [i["share"] for i in items] == [50.0, 30.0, 10.0, 10.0]
    assert [i["cumulative"] for i in items] == [50.0, 80.0, 90.0, 100.0]
    # Defect (50 %) and billing (reaching 80 %) are the vital few.
    assert [i["vital_few"] for i in items] == [True, True, False, False]
    assert data["cases"] == 10
    channel = data["evaluation"]["channel"]["items"]
    assert channel == [
        {
            "key": "phone",
            "label": "Phone",
            "count": 10,
            "share": 100.0,
            "cumulative": 100.0,
            "vital_few": True,
        }
    ]
    assert data["evaluation"]["product"]["items"][0]["label"] == "not recorded"


def test_trend_counts_the_top_values_per_week_over_twelve_weeks(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    case(mia, party, kinds["defect"], created=at(3, 9))
    case(mia, party, kinds["defect"], created=at(4, 9))
    # Four weeks earlier: in the trend, not in the period's Pareto.
    case(mia, party, kinds["defect"], created=dt.datetime(2026, 2, 3, 9, tzinfo=BERLIN))
    case(mia, party, kinds["billing"], created=at(5, 9))

    trend = figures.case_analysis(user=mia, period=WEEK, now=NOW)["evaluation"]["category"]["trend"]

    assert trend["grain"] == "week"
    assert len(trend["periods"]) == 12
    assert trend["periods"][-1] == "2026-03-02"
    assert trend["periods"][0] == "2025-12-15"
    defect_line = next(s for s in trend["series"] if s["key"] == kinds["defect"].pk)
    assert defect_line["values"][-1] == 2
    assert defect_line["values"][trend["periods"].index("2026-02-02")] == 1
    assert sum(defect_line["values"]) == 3


def test_a_year_shows_monthly_trends(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    case(mia, party, kinds["defect"], created=at(3, 9))
    year = Period(dt.date(2025, 3, 9), dt.date(2026, 3, 8))
    trend = figures.case_analysis(user=mia, period=year, now=NOW)["evaluation"]["category"]["trend"]
    assert trend["grain"] == "month"
    assert trend["periods"][0] == "2025-04-01"
    assert trend["periods"][-1] == "2026-03-01"
    assert trend["series"][0]["values"][-1] == 1


# --- Controlling -----------------------------------------------------------------------------


def test_sla_compliance_per_severity_counts_missed_and_leaves_pending_out(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    defect = kinds["defect"]
    # High, acknowledged in time (1 business hour), resolved in time the next morning.
    case(
        mia,
        party,
        defect,
        severity="high",
        created=at(2, 9),
        ack_due_at=at(2, 13),
        acknowledged_at=at(2, 10),
        resolve_due_at=at(3, 16),
        resolved_at=at(3, 9),
        status="resolved",
    )
    # High, acknowledged late (6 business hours).
    case(
        mia,
        party,
        defect,
        severity="high",
        created=at(2, 9),
        ack_due_at=at(2, 13),
        acknowledged_at=at(2, 15),
        resolve_due_at=at(20, 16),
    )
    # Medium, never acknowledged and past its due time: missed.
    case(mia, party, defect, created=at(2, 9), ack_due_at=at(2, 17), resolve_due_at=at(20, 9))
    # Low, not acknowledged yet but still within its time: pending, in no rate.
    case(
        mia,
        party,
        defect,
        severity="low",
        created=at(6, 16),
        ack_due_at=at(10, 9),
        resolve_due_at=at(20, 9),
    )

    data = figures.case_analysis(user=mia, period=WEEK, now=NOW)

    sla = data["sla"]
    high = next(r for r in sla["per_severity"] if r["severity"] == "high")
    assert (high["ack_in_time"], high["ack_measured"], high["ack_rate"]) == (1, 2, 50.0)
    assert (high["resolve_in_time"], high["resolve_measured"], high["resolve_rate"]) == (
        1,
        1,
        100.0,
    )
    low = next(r for r in sla["per_severity"] if r["severity"] == "low")
    assert (low["cases"], low["ack_measured"], low["ack_rate"]) == (1, 0, None)
    assert sla["overall"]["ack_in_time"] == 1
    assert sla["overall"]["ack_measured"] == 3
    assert sla["overall"]["ack_rate"] == 33.3

    durations = data["durations"]
    assert durations["unit"] == "business_hours"
    assert durations["acknowledge"]["n"] == 2
    # 1 h and 6 h: median 3.5, p90 = 1 + 0.9 × 5 = 5.5.
    assert durations["acknowledge"]["median"] == 3.5
    assert durations["acknowledge"]["p90"] == 5.5
    # Monday 9:00 → Tuesday 9:00 = 8 h (to 17:00) + 1 h (from 8:00).
    assert durations["resolve"]["median"] == 9.0
    counts = {b["label"]: b["count"] for b in durations["acknowledge"]["histogram"]}
    assert counts["1–4 h"] == 1
    assert counts["4–9 h"] == 1


def test_time_to_resolve_leaves_out_the_wait_for_the_customer(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    case(
        mia,
        party,
        kinds["defect"],
        created=at(2, 9),
        acknowledged_at=at(2, 9, 30),
        resolved_at=at(4, 9),
        paused_seconds=4 * 3600,
    )
    resolve = figures.case_analysis(user=mia, period=WEEK, now=NOW)["durations"]["resolve"]
    # Monday 9 → Wednesday 9 = 8 + 9 + 1 = 18 business hours, 4 of them waiting.
    assert resolve["median"] == 14.0


def test_the_business_clock_agrees_with_the_sla_module_over_weekends_and_holidays():
    calendar = BusinessCalendar()
    clock = BusinessClock(calendar, dt.date(2026, 3, 25), dt.date(2026, 4, 15))
    # Across Good Friday (3 April 2026), a weekend and Easter Monday.
    moments = [
        (dt.datetime(2026, 4, 1, 16, tzinfo=BERLIN), dt.datetime(2026, 4, 8, 10, tzinfo=BERLIN)),
        (dt.datetime(2026, 3, 27, 7, tzinfo=BERLIN), dt.datetime(2026, 3, 30, 20, tzinfo=BERLIN)),
        (dt.datetime(2026, 3, 28, 12, tzinfo=BERLIN), dt.datetime(2026, 3, 28, 15, tzinfo=BERLIN)),
    ]
    for start, end in moments:
        assert clock.hours_between(start, end) == pytest.approx(
            business_hours_between(start, end, calendar)
        )


def test_quantiles_interpolate_between_ranks():
    assert figures.quantile([], 0.5) is None
    assert figures.quantile([4.0], 0.9) == 4.0
    assert figures.quantile([1.0, 2.0, 3.0, 10.0], 0.5) == 2.5
    assert figures.quantile([1.0, 2.0, 3.0, 10.0], 0.9) == pytest.approx(7.9)


# --- Evidence controlling --------------------------------------------------------------------


def _survey():
    survey = Survey.objects.create(name="Zufriedenheit 2026")
    nps = Question.objects.create(
        survey=survey, kind=QuestionKind.NPS, text_de="Empfehlen?", text_en="Recommend?"
    )
    rating = Question.objects.create(
        survey=survey, kind=QuestionKind.SCALE, text_de="Zufrieden?", text_en="Satisfied?"
    )
    return survey, nps, rating


def answer(survey, party, *, when, nps=None, ratings=(), questions=None):
    response = Response.objects.create(
        survey=survey, party=party, channel="online", language="de", nps=nps
    )
    Response.objects.filter(pk=response.pk).update(created_at=when)
    nps_q, rating_q = questions
    if nps is not None:
        Answer.objects.create(response=response, question=nps_q, value=nps)
    for value in ratings:
        Answer.objects.create(response=response, question=rating_q, value=value)
    return response


def test_dissatisfied_customers_with_and_without_a_case(mia, kinds):
    survey, nps_q, rating_q = _survey()
    questions = (nps_q, rating_q)
    detractor = customer(mia, "Detraktor AG")
    unhappy = customer(mia, "Unzufrieden KG", last_csat=2.0)
    promoter = customer(mia, "Fan GmbH")
    earlier = customer(mia, "Damals GmbH")
    answer(survey, detractor, when=at(3, 10), nps=3, questions=questions)
    # CSAT 1 and 3: mean 2, dissatisfied; no NPS question answered.
    answer(survey, unhappy, when=at(4, 10), ratings=(1, 3), questions=questions)
    answer(survey, promoter, when=at(4, 11), nps=9, ratings=(5,), questions=questions)
    # A detractor before the period is not counted.
    answer(
        survey, earlier, when=dt.datetime(2026, 2, 1, 10, tzinfo=BERLIN), nps=2, questions=questions
    )
    # An anonymous detractor is only counted.
    answer(survey, None, when=at(5, 10), nps=1, questions=questions)
    case(mia, detractor, kinds["defect"], created=at(5, 9))
    case(mia, promoter, kinds["defect"], created=at(5, 9))

    evidence = figures.case_analysis(user=mia, period=WEEK, now=NOW)["evidence"]

    assert evidence["dissatisfied"] == 2
    assert evidence["with_case"] == 1
    assert evidence["without_case"] == 1
    assert evidence["complaint_rate"] == 50.0
    assert evidence["anonymous_answers"] == 1
    assert [(p["party_id"], p["name"], p["last_csat"]) for p in evidence["without_case_list"]] == [
        (unhappy.pk, "Unzufrieden KG", 2.0)
    ]


def test_an_agent_sees_the_names_of_dissatisfied_customers_only_of_visible_parties(
    sam, otto, mia, kinds
):
    survey, nps_q, rating_q = _survey()
    mine = customer(sam, "Meins GmbH")
    foreign = customer(otto, "Fremd GmbH")
    answer(survey, mine, when=at(3, 10), nps=2, questions=(nps_q, rating_q))
    answer(survey, foreign, when=at(3, 10), nps=2, questions=(nps_q, rating_q))

    for_sam = figures.case_analysis(user=sam, period=WEEK, now=NOW)["evidence"]
    assert for_sam["dissatisfied"] == 1
    assert [p["name"] for p in for_sam["without_case_list"]] == ["Meins GmbH"]
    # The manager counts every dissatisfied customer; a record outside her teams stays hidden.
    for_mia = figures.case_analysis(user=mia, period=WEEK, now=NOW)["evidence"]
    assert for_mia["dissatisfied"] == 2
    names = {p["name"] for p in for_mia["without_case_list"]}
    assert "Fremd GmbH" not in names
    assert "Hidden party" in names


# --- Cost–benefit controlling ----------------------------------------------------------------


def test_costs_against_the_clv_of_the_complaining_customers_who_stayed(mia, kinds):
    stayed = customer(mia, "Treu GmbH", clv=Decimal("1000.00"), lifecycle_phase="maturity")
    left = customer(mia, "Weg GmbH", clv=Decimal("500.00"), lifecycle_phase="abstinence")
    unknown = customer(mia, "Neu GmbH")  # no computed phase nor CLV: stayed, CLV 0
    a = case(mia, stayed, kinds["defect"], created=at(3, 9))
    b = case(mia, left, kinds["billing"], created=at(3, 10))
    case(mia, unknown, kinds["billing"], created=at(3, 11))
    old = case(mia, stayed, kinds["defect"], created=dt.datetime(2026, 1, 5, 9, tzinfo=BERLIN))
    day = dt.date(2026, 3, 4)
    CaseCost.objects.create(case=a, kind="goodwill", date=day, amount=Decimal("100.00"))
    CaseCost.objects.create(
        case=a, kind="handling", date=day, hours=1, hourly_rate=50, amount=Decimal("50.00")
    )
    CaseCost.objects.create(case=b, kind="replacement", date=day, amount=Decimal("50.00"))
    CaseCost.objects.create(case=old, kind="goodwill", date=day, amount=Decimal("999.00"))

    benefit = figures.case_analysis(user=mia, period=WEEK, now=NOW)["cost_benefit"]

    assert benefit["costs"] == Decimal("200.00")
    by_kind = {k["kind"]: k["amount"] for k in benefit["costs_by_kind"]}
    assert by_kind == {
        "goodwill": Decimal("100.00"),
        "replacement": Decimal("50.00"),
        "handling": Decimal("50.00"),
    }
    assert (benefit["customers"], benefit["stayed"], benefit["left"]) == (3, 2, 1)
    assert benefit["clv_stayed"] == Decimal("1000.00")
    assert benefit["stayed_without_clv"] == 1
    assert benefit["ratio"] == 5.0
    rows = [(r["name"], r["cases"], r["cost"], r["stayed"]) for r in benefit["table"]]
    assert rows == [
        ("Treu GmbH", 1, Decimal("150.00"), True),
        ("Weg GmbH", 1, Decimal("50.00"), False),
        ("Neu GmbH", 1, Decimal("0.00"), True),
    ]


def test_improvement_actions_open_or_due_in_the_period_are_listed(mia, root_cause):
    ImprovementAction.objects.create(
        root_cause=root_cause, title="Prüfstand erneuern", due_date=dt.date(2026, 4, 1)
    )
    ImprovementAction.objects.create(
        root_cause=root_cause, title="Längst erledigt", status="done", due_date=dt.date(2025, 1, 1)
    )
    period = Period(dt.date(2026, 3, 2), timezone.localdate())
    actions = figures.case_analysis(user=mia, period=period)["actions"]
    assert [a["title"] for a in actions] == ["Prüfstand erneuern"]
    assert actions[0]["root_cause"] == "Manufacturing fault"


# --- Permissions, page and API ---------------------------------------------------------------


def test_an_agent_analyses_only_the_cases_he_may_see(sam, otto, kinds):
    mine = customer(sam, "Meins GmbH")
    foreign = customer(otto, "Fremd GmbH")
    case(sam, mine, kinds["defect"], created=at(3, 9), owner=sam)
    case(otto, foreign, kinds["billing"], created=at(3, 9), owner=otto)
    Case.objects.filter(party=foreign).update(team=None)
    Case.objects.filter(party=mine).update(team=None)
    data = figures.case_analysis(user=sam, period=WEEK, now=NOW)
    assert data["cases"] == 1
    assert [i["label"] for i in data["evaluation"]["category"]["items"]] == ["Product defect"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.SALES_MANAGER, True),
        (Role.SERVICE_AGENT, True),
        (Role.SALES_REP, False),
        (Role.MARKETING, False),
        (Role.READ_ONLY, False),
    ],
)
def test_managers_and_service_agents_open_the_analysis_page_and_api(role, allowed):
    user = UserFactory(username=f"u-{role}", role=role)
    client = Client()
    client.force_login(user)
    page = client.get("/cases/analysis/?range=90")
    api = client.get("/api/v1/cases/analysis?start=2026-03-02&end=2026-03-08")
    assert page.status_code == (200 if allowed else 403)
    assert api.status_code == (200 if allowed else 403)
    if allowed:
        assert api.json()["period"] == {"start": "2026-03-02", "end": "2026-03-08", "days": 7}


def test_the_page_shows_the_figures_in_german_with_formulas(mia, kinds):
    party = customer(mia, "Pumpen GmbH")
    case(mia, party, kinds["defect"], created=at(3, 9))
    client = Client()
    client.force_login(mia)
    response = client.get(
        "/cases/analysis/?range=custom&start=2026-03-02&end=2026-03-08",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Produktmangel" in html
    assert "Beschwerdeanalyse" in html
    assert 'title="Sortiert nach Anzahl' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html


def test_a_bad_custom_period_falls_back_and_says_why(mia):
    client = Client()
    client.force_login(mia)
    response = client.get("/cases/analysis/?range=custom&start=2026-03-08&end=2026-03-01")
    assert response.status_code == 200
    assert "The end date must not be before the start date." in response.content.decode()
    api = client.get("/api/v1/cases/analysis?start=2026-03-08&end=2026-03-01")
    assert api.status_code == 422


def test_the_analysis_needs_the_same_queries_for_few_and_many_cases(mia, kinds):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    party = customer(mia, "Pumpen GmbH")

    def add(n):
        for i in range(n):
            case(
                mia,
                party,
                kinds["defect" if i % 2 else "billing"],
                created=at(3, 8) + dt.timedelta(minutes=i),
                acknowledged_at=at(3, 12),
                resolved_at=at(4, 12),
            )

    def count():
        with CaptureQueriesContext(connection) as queries:
            figures.case_analysis(user=mia, period=WEEK, now=NOW)
        return len(queries)

    add(2)
    few = count()
    add(30)
    assert count() == few
