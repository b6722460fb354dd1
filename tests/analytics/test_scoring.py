"""Scoring models (DOMAIN.md §7.4): thresholds, weights, grades, history, lead engagement,
utility-value analysis, and who may define, preview and apply them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kreis.analytics.models import Criterion, ScoreRecord, ScoringModel, UtilityOption
from kreis.analytics.scoring import engine, services
from kreis.core.models import CustomField
from kreis.leads.models import Lead
from kreis.parties.models import Party, PartyRole, PartyRoleAssignment
from tests.activities.factories import ActivityFactory
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory

REVENUE_STEPS = [[0, 0], [10000, 5], [50000, 10]]


def customer(**fields) -> Party:
    party = OrganizationFactory(**fields)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    return party


def revenue_and_abc_model(**extra) -> ScoringModel:
    """Revenue (weight 3) and ABC class (weight 1), 10 points at most."""
    return services.scoring_model_create(
        actor=None,
        name="Customer value",
        target="customer",
        criteria=[
            {"field": "revenue_12m", "weight": 3, "thresholds": REVENUE_STEPS},
            {"field": "abc_class", "weight": 1, "thresholds": {"A": 10, "B": 5}},
        ],
        **extra,
    )


# --- Engine -------------------------------------------------------------------------------------


def test_numeric_thresholds_give_points_of_the_highest_step_reached():
    spec = engine.Spec(
        "customer",
        10,
        [[50, "A"], [0, "B"]],
        (engine.CriterionSpec(1, "revenue_12m", "Revenue", 1.0, "numeric", REVENUE_STEPS),),
    )
    frame = pd.DataFrame({"revenue_12m": [-5, 0, 9999.99, 10000, 49999, 50000, 1e9, None]})
    result = engine.score_frame(spec, frame)
    assert result["points_1"].tolist() == [0, 0, 0, 5, 5, 10, 10, 0]
    assert result["score"].tolist() == [0, 0, 0, 50, 50, 100, 100, 0]
    assert result["grade"].tolist() == ["B", "B", "B", "A", "A", "A", "A", "B"]


def test_weights_make_the_score_a_weighted_share_of_the_maximum():
    # Revenue 20,000 → 5 points × weight 3 = 15; class B → 5 points × weight 1 = 5.
    # Score = 100 × 20 / (4 × 10) = 50.
    spec = engine.Spec(
        "customer",
        10,
        [[75, "A"], [50, "B"], [25, "C"], [0, "D"]],
        (
            engine.CriterionSpec(1, "revenue_12m", "Revenue", 3.0, "numeric", REVENUE_STEPS),
            engine.CriterionSpec(2, "abc_class", "ABC", 1.0, "choice", {"A": 10, "B": 5}),
        ),
    )
    frame = pd.DataFrame(
        {"revenue_12m": [20000, 60000, 60000, 500], "abc_class": ["B", "a", "", "C"]}
    )
    result = engine.score_frame(spec, frame)
    assert result["score"].tolist() == [50.0, 100.0, 75.0, 0.0]
    assert result["grade"].tolist() == ["B", "A", "A", "D"]
    assert result["points_2"].tolist() == [5, 10, 0, 0]  # choice ignores case; unknown → 0


def test_missing_values_give_no_points():
    spec = engine.Spec(
        "customer",
        10,
        [[0, "D"]],
        (
            engine.CriterionSpec(1, "clv", "CLV", 1.0, "numeric", [[0, 2], [100, 10]]),
            engine.CriterionSpec(2, "size", "Size", 1.0, "choice", {"1000+": 10}),
        ),
    )
    frame = pd.DataFrame({"clv": [None, float("nan"), "n/a"], "size": [None, float("nan"), ""]})
    result = engine.score_frame(spec, frame)
    assert result["points_1"].tolist() == [0, 0, 0]
    assert result["points_2"].tolist() == [0, 0, 0]
    assert result["score"].tolist() == [0, 0, 0]


@pytest.mark.django_db
def test_custom_field_criterion_scores_the_custom_value():
    CustomField.objects.create(entity="party", key="employees", label="Employees", type="number")
    CustomField.objects.create(entity="party", key="reference", label="Reference", type="boolean")
    big = customer(name="Big", custom={"employees": 800, "reference": True})
    small = customer(name="Small", custom={"employees": 12, "reference": False})
    unknown = customer(name="Unknown")
    model = services.scoring_model_create(
        actor=None,
        name="Size",
        target="customer",
        criteria=[
            {"field": "custom.employees", "thresholds": [[0, 0], [50, 4], [500, 10]]},
            {"field": "custom.reference", "thresholds": {"yes": 10, "no": 0}},
        ],
    )
    keys = {f.key: f for f in engine.available_fields("customer")}
    assert keys["custom.reference"].choices == ("yes", "no")
    rows = {row["name"]: row for row in engine.preview(model, n=10)["rows"]}
    assert rows["Big"]["score"] == 100.0
    assert rows["Small"]["score"] == 0.0
    assert rows["Unknown"]["score"] == 0.0
    assert [c["value"] for c in rows["Big"]["cells"]] == [800, "yes"]
    assert {big.pk, small.pk, unknown.pk} == {row["id"] for row in rows.values()}


@pytest.mark.django_db
def test_computed_figure_criterion_share_of_wallet():
    # 30,000 of a 100,000 potential = 0.3 share of wallet → the 0.25 step: 6 points of 10.
    customer(name="Loyal", revenue_12m=Decimal("30000"), purchasing_potential=Decimal("100000"))
    customer(name="No potential", revenue_12m=Decimal("30000"))
    model = services.scoring_model_create(
        actor=None,
        name="Wallet",
        target="customer",
        criteria=[{"field": "share_of_wallet", "thresholds": [[0, 0], [0.25, 6], [0.5, 10]]}],
    )
    rows = {row["name"]: row for row in engine.preview(model)["rows"]}
    assert rows["Loyal"]["cells"][0]["value"] == pytest.approx(0.3)
    assert rows["Loyal"]["score"] == 60.0
    assert rows["No potential"]["score"] == 0.0


@pytest.mark.django_db
def test_only_parties_with_the_target_role_are_scored():
    customer(name="Customer")
    supplier = OrganizationFactory(name="Supplier")
    PartyRoleAssignment.objects.create(party=supplier, role=PartyRole.SUPPLIER)
    OrganizationFactory(name="Nobody")
    model = services.scoring_model_create(
        actor=None,
        name="Suppliers",
        target="supplier",
        criteria=[{"field": "kind", "thresholds": {"organization": 10}}],
    )
    assert [row["name"] for row in engine.preview(model)["rows"]] == ["Supplier"]


@pytest.mark.django_db
def test_preview_stores_nothing():
    party = customer(revenue_12m=Decimal("60000"), abc_class="A")
    model = revenue_and_abc_model()
    result = engine.preview(model)
    assert result["rows"][0]["score"] == 100.0
    assert result["distribution"] == [("A", 1), ("B", 0), ("C", 0), ("D", 0)]
    party.refresh_from_db()
    assert party.score is None
    assert party.grade == ""
    assert not ScoreRecord.objects.exists()


@pytest.mark.django_db
def test_apply_writes_score_and_a_history_row_only_on_change():
    party = customer(revenue_12m=Decimal("20000"), abc_class="B")
    model = revenue_and_abc_model()
    first = engine.apply_model(model)
    party.refresh_from_db()
    assert (party.score, party.grade) == (None, "")  # not primary: history only
    assert first == {"scored": 1, "changed": 1, "written": 0}

    services.scoring_model_make_primary(actor=None, model=model)  # applies at once
    party.refresh_from_db()
    assert (party.score, party.grade) == (50.0, "B")
    record = ScoreRecord.objects.get(party=party)
    assert record.points == {"revenue_12m": 5.0, "abc_class": 5.0}

    assert engine.apply_model(model)["changed"] == 0  # same figures: no new history row
    assert ScoreRecord.objects.filter(party=party).count() == 1

    Party.objects.filter(pk=party.pk).update(revenue_12m=Decimal("80000"))
    engine.apply_model(model)
    party.refresh_from_db()
    assert (party.score, party.grade) == (87.5, "A")
    history = list(ScoreRecord.objects.filter(party=party).values_list("score", "is_latest"))
    assert history == [(87.5, True), (50.0, False)]


@pytest.mark.django_db
def test_a_model_that_is_not_primary_keeps_the_party_fields_untouched():
    party = customer(revenue_12m=Decimal("20000"), abc_class="B")
    model = revenue_and_abc_model()
    services.scoring_model_set_active(actor=None, model=model, active=True)
    assert engine.apply_active_models() == {f"{model.pk} Customer value": 1}
    party.refresh_from_db()
    assert party.score is None
    assert ScoreRecord.objects.get(party=party).score == 50.0


@pytest.mark.django_db
def test_primary_customer_model_clears_the_score_of_former_customers():
    party = customer(revenue_12m=Decimal("60000"), abc_class="A")
    model = revenue_and_abc_model()
    services.scoring_model_make_primary(actor=None, model=model)
    engine.apply_model(model)
    PartyRoleAssignment.objects.filter(party=party).delete()
    engine.apply_model(model)
    party.refresh_from_db()
    assert (party.score, party.grade) == (None, "")


@pytest.mark.django_db
def test_deactivating_or_deleting_the_primary_model_clears_the_shown_scores():
    party = customer(revenue_12m=Decimal("60000"), abc_class="A")
    model = revenue_and_abc_model()
    services.scoring_model_make_primary(actor=None, model=model)
    party.refresh_from_db()
    assert party.grade == "A"
    services.scoring_model_set_active(actor=None, model=model, active=False)
    party.refresh_from_db()
    assert (party.score, party.grade) == (None, "")
    assert ScoreRecord.objects.filter(party=party).exists()  # the history stays

    services.scoring_model_make_primary(actor=None, model=model)
    services.scoring_model_delete(actor=None, model=model)
    party.refresh_from_db()
    assert (party.score, party.grade) == (None, "")


@pytest.mark.django_db
def test_lead_engagement_decays_with_age():
    now = timezone.now()
    fresh, old, quiet = LeadFactory(), LeadFactory(), LeadFactory()
    ActivityFactory(lead=fresh, occurred_at=now - dt.timedelta(hours=1))
    ActivityFactory(lead=old, occurred_at=now - dt.timedelta(days=30))
    ActivityFactory(lead=old, occurred_at=now - dt.timedelta(days=60))
    ActivityFactory(lead=fresh, occurred_at=now + dt.timedelta(days=3))  # planned: not yet
    values = engine.engagement(now=now)
    # Today counts 1; 30 days (one half-life) 0.5, 60 days 0.25.
    assert values[fresh.pk] == pytest.approx(1.0, abs=0.03)
    assert values[old.pk] == pytest.approx(0.75, abs=0.02)
    assert quiet.pk not in values.index

    model = services.scoring_model_create(
        actor=None,
        name="Lead score",
        target="lead",
        criteria=[
            {"field": "engagement", "weight": 2, "thresholds": [[0.1, 2], [0.9, 10]]},
            {"field": "budget", "weight": 1, "thresholds": [[10000, 10]]},
        ],
    )
    Lead.objects.filter(pk=old.pk).update(budget=Decimal("20000"))
    services.scoring_model_make_primary(actor=None, model=model)
    engine.apply_model(model, now=now)
    scores = dict(Lead.objects.values_list("pk", "score"))
    # fresh: 2×10 / (3×10) = 66.67; old: (2×2 + 1×10) / 30 = 46.67; quiet: 0.
    assert scores == {fresh.pk: 66.67, old.pk: 46.67, quiet.pk: 0.0}
    assert Lead.objects.filter(scored_at=now).count() == 3


@pytest.mark.django_db
def test_lead_fit_fields():
    today = timezone.localdate()
    LeadFactory(
        first_name="Rita",
        last_name="Ready",
        company="ACME",
        authority="CEO",
        timeline=today + dt.timedelta(days=20),
    )
    LeadFactory(last_name="Vague", company="", authority="", timeline=None)
    frame = engine.load_frame(
        "lead", ["company", "authority", "timeline_days"], names=True
    ).set_index("name")
    assert frame.loc["Rita Ready (ACME)", "company"] == "yes"
    assert frame.loc["Rita Ready (ACME)", "timeline_days"] == 20
    assert frame.filter(like="Vague", axis=0)["authority"].tolist() == ["no"]
    assert pd.isna(frame.filter(like="Vague", axis=0)["timeline_days"].iloc[0])


@pytest.mark.django_db
def test_counts_of_deals_and_activities_are_computed_per_party():
    from tests.activities.factories import DealFactory, StageFactory

    busy = customer(name="Busy")
    customer(name="Quiet")
    open_stage, won_stage = StageFactory(kind="open"), StageFactory(kind="won")
    DealFactory(organization=busy, stage=open_stage)
    DealFactory(organization=busy, stage=open_stage)
    DealFactory(organization=busy, stage=won_stage, closed_at=timezone.now())
    ActivityFactory(party=busy)
    frame = engine.load_frame(
        "customer", ["open_deals", "won_deals_12m", "activities_90d"], names=True
    ).set_index("name")
    frame = frame[["open_deals", "won_deals_12m", "activities_90d"]]
    assert frame.loc["Busy"].tolist() == [2, 1, 1]
    assert frame.loc["Quiet"].tolist() == [0, 0, 0]


@pytest.mark.django_db
def test_utility_analysis_ranks_the_options():
    # Price (weight 2): the cheaper, the more points; features (weight 3); support (weight 1).
    model = services.scoring_model_create(
        actor=None,
        name="Choosing a CRM",
        target="option",
        max_points=5,
        criteria=[
            {"label": "Price per user", "weight": 2, "thresholds": [[0, 5], [30, 3], [60, 1]]},
            {
                "field": "features",
                "label": "Features",
                "weight": 3,
                "thresholds": [[0, 0], [5, 3], [8, 5]],
            },
            {
                "field": "support",
                "label": "Support",
                "weight": 1,
                "kind": "choice",
                "thresholds": {"good": 5, "poor": 1},
            },
        ],
    )
    assert [c.field for c in model.criteria.all()] == ["price_per_user", "features", "support"]
    for name, values in {
        "Kreis": {"price_per_user": 0, "features": 7, "support": "good"},
        "BigCRM": {"price_per_user": 80, "features": 9, "support": "good"},
        "Cheapo": {"price_per_user": 10, "features": 2, "support": "poor"},
    }.items():
        services.utility_option_create(actor=None, model=model, name=name, values=values)
    result = engine.ranking(model)
    # Kreis: 2×5 + 3×3 + 1×5 = 24; BigCRM: 2×1 + 3×5 + 5 = 22; Cheapo: 10 + 0 + 1 = 11 (of 30).
    assert [(r["name"], r["weighted_points"], r["rank"]) for r in result["rows"]] == [
        ("Kreis", 24, 1),
        ("BigCRM", 22, 2),
        ("Cheapo", 11, 3),
    ]
    assert result["rows"][0]["is_winner"]
    assert not result["rows"][1]["is_winner"]
    assert result["rows"][0]["score"] == 80.0
    assert result["max_weighted_points"] == 30

    engine.apply_model(model)
    assert ScoreRecord.objects.filter(option__name="Kreis").get().score == 80.0


@pytest.mark.django_db
def test_invalid_definitions_are_refused_with_the_reason():
    with pytest.raises(ValidationError) as info:
        services.scoring_model_create(
            actor=None,
            name="Bad",
            target="customer",
            grades=[[50, "A"], [10, "B"]],
            criteria=[
                {"field": "revenue_12m", "thresholds": [[0, 0], [100, 11]]},
                {"field": "no_such_field", "thresholds": [[0, 1]]},
            ],
        )
    errors = info.value.message_dict
    assert "One grade must start at score 0" in errors["grades"][0]
    assert not ScoringModel.objects.exists()

    revenue = {"field": "revenue_12m", "thresholds": [[0, 0], [100, 11]]}
    with pytest.raises(ValidationError) as info:
        services.scoring_model_create(
            actor=None,
            name="Bad",
            target="customer",
            criteria=[revenue, {"field": "no_such_field", "thresholds": [[0, 1]]}],
        )
    errors = info.value.message_dict
    assert errors["criteria.0.thresholds"] == ["Threshold 2: points must be a number from 0 to 10."]
    assert "not a field" in errors["criteria.1.field"][0]
    assert not Criterion.objects.exists()


# --- Pages --------------------------------------------------------------------------------------


def form_data(**rows) -> dict:
    """The model form's POST data with criteria rows {index: {field: value}}."""
    data = {
        "target": "customer",
        "name": "Key accounts",
        "description": "",
        "max_points": "10",
        "grades": "75 = A\n50 = B\n0 = C",
        "criteria-TOTAL_FORMS": str(len(rows)),
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "1",
        "criteria-MAX_NUM_FORMS": "50",
    }
    for index, row in rows.items():
        for name, value in row.items():
            data[f"criteria-{index.removeprefix('r')}-{name}"] = value
    return data


REVENUE_ROW = {
    "field": "revenue_12m",
    "label": "",
    "weight": "3",
    "thresholds": "0 = 0\n10000 = five",
}
ABC_ROW = {"field": "abc_class", "label": "Class", "weight": "1", "thresholds": "A = 10\nB = 5"}


@pytest.mark.django_db
def test_admin_sees_the_bad_threshold_line_and_keeps_what_was_typed(dana):
    client = client_for(dana)
    response = client.post("/analytics/scoring/new/", form_data(r0=REVENUE_ROW, r1=ABC_ROW))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Line 2: the points “five” are not a number." in page
    assert "10000 = five" in page
    assert "Key accounts" in page
    assert "B = 5" in page
    assert not ScoringModel.objects.exists()

    too_many = {**REVENUE_ROW, "thresholds": "0 = 0\n10000 = 50"}
    response = client.post("/analytics/scoring/new/", form_data(r0=too_many, r1=ABC_ROW))
    assert "Threshold 2: points must be a number from 0 to 10." in response.content.decode()
    assert not ScoringModel.objects.exists()

    fixed = {**REVENUE_ROW, "thresholds": "0 = 0\n10000 = 5\n50000 = 10"}
    response = client.post("/analytics/scoring/new/", form_data(r0=fixed, r1=ABC_ROW))
    model = ScoringModel.objects.get()
    assert response.status_code == 302
    assert response.url == f"/analytics/scoring/{model.pk}/"
    assert model.grades == [[75, "A"], [50, "B"], [0, "C"]]
    assert [(c.field, c.label, c.weight, c.thresholds) for c in model.criteria.all()] == [
        ("revenue_12m", "Revenue, last 12 months", Decimal("3.00"), REVENUE_STEPS),
        ("abc_class", "Class", Decimal("1.00"), {"A": 10, "B": 5}),
    ]
    assert model.created_by == dana
    assert not model.is_active


@pytest.mark.django_db
def test_add_criterion_keeps_the_rows_and_adds_an_empty_one(dana):
    data = form_data(r0=REVENUE_ROW)
    data["add"] = "1"
    response = client_for(dana).post("/analytics/scoring/new/", data)
    page = response.content.decode()
    assert page.count('data-testid="criterion-row"') == 2
    assert "10000 = five" in page
    assert "not a number" not in page  # not validated yet
    assert not ScoringModel.objects.exists()


@pytest.mark.django_db
def test_editing_a_model_shows_its_criteria_and_saves_changes(dana):
    model = revenue_and_abc_model()
    client = client_for(dana)
    page = client.get(f"/analytics/scoring/{model.pk}/edit/").content.decode()
    assert "10000 = 5" in page
    assert "A = 10" in page
    data = form_data(r0={**REVENUE_ROW, "thresholds": "0 = 1"})
    data["name"] = "Renamed"
    response = client.post(f"/analytics/scoring/{model.pk}/edit/", data)
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.name == "Renamed"
    assert [(c.field, c.thresholds) for c in model.criteria.all()] == [("revenue_12m", [[0, 1]])]


@pytest.mark.django_db
def test_non_admins_may_look_but_not_define_or_apply(alice, rory):
    model = revenue_and_abc_model()
    for user in (alice, rory):
        client = client_for(user)
        assert client.get("/analytics/scoring/new/?target=customer").status_code == 403
        assert client.get(f"/analytics/scoring/{model.pk}/edit/").status_code == 403
        assert client.post(f"/analytics/scoring/{model.pk}/apply/").status_code == 403
        assert client.post(f"/analytics/scoring/{model.pk}/activate/").status_code == 403
        page = client.get("/analytics/scoring/").content.decode()
        assert "Customer value" in page
        assert "New model" not in page
        assert "Apply now" not in client.get(f"/analytics/scoring/{model.pk}/").content.decode()
    model.refresh_from_db()
    assert not model.is_active
    assert model.applied_at is None


@pytest.mark.django_db
def test_preview_page_shows_only_parties_the_user_may_see(alice, charlie, north):
    customer(name="Alice's customer", owner=alice, team=north, revenue_12m=Decimal("20000"))
    customer(name="Charlie's customer", owner=charlie, revenue_12m=Decimal("90000"))
    model = revenue_and_abc_model()
    response = client_for(alice).get(f"/analytics/scoring/{model.pk}/preview/")
    page = response.content.decode()
    assert "Alice&#x27;s customer" in page
    assert "Charlie" not in page
    assert "37.50" in page  # 3 × 5 of 40 points
    assert 'data-chart="/analytics/scoring/' in page

    chart_url = f"/analytics/scoring/{model.pk}/preview/chart.json?ids=" + ",".join(
        str(pk) for pk in Party.objects.values_list("pk", flat=True)
    )
    option = client_for(alice).get(chart_url).json()["option"]
    assert option["xAxis"]["data"] == ["A", "B", "C", "D"]
    assert option["series"][0]["data"] == [0, 0, 1, 0]  # Charlie's customer is not counted
    assert not ScoreRecord.objects.exists()


@pytest.mark.django_db
def test_admin_activates_makes_primary_and_applies_from_the_page(dana):
    party = customer(revenue_12m=Decimal("60000"), abc_class="B")
    model = revenue_and_abc_model()
    client = client_for(dana)
    assert client.get(f"/analytics/scoring/{model.pk}/apply/").status_code == 405
    response = client.post(f"/analytics/scoring/{model.pk}/primary/", follow=True)
    assert "its scores and grades are shown on the records" in response.content.decode()
    party.refresh_from_db()
    assert (party.score, party.grade) == (87.5, "A")  # (3×10 + 1×5) / 40
    response = client.post(f"/analytics/scoring/{model.pk}/apply/", follow=True)
    assert "1 records scored; 0 changed score or grade." in response.content.decode()
    client.post(f"/analytics/scoring/{model.pk}/activate/", {"active": "0"})
    model.refresh_from_db()
    assert not model.is_active
    assert not model.is_primary
    party.refresh_from_db()
    assert party.score is None


@pytest.mark.django_db
def test_party_score_history_fragment(alice, charlie, north):
    party = customer(owner=alice, team=north, revenue_12m=Decimal("20000"))
    other = customer(owner=charlie)
    model = revenue_and_abc_model()
    engine.apply_model(model)
    page = client_for(alice).get(f"/analytics/scoring/party/{party.pk}/").content.decode()
    assert "Customer value" in page
    assert "37.5" in page
    assert client_for(alice).get(f"/analytics/scoring/party/{other.pk}/").status_code == 404


@pytest.fixture
def crm_choice():
    model = services.scoring_model_create(
        actor=None,
        name="Choosing a CRM",
        target="option",
        criteria=[
            {
                "field": "features",
                "label": "Features",
                "weight": 2,
                "thresholds": [[0, 0], [5, 10]],
            },
            {"field": "support", "label": "Support", "kind": "choice", "thresholds": {"good": 10}},
        ],
    )
    services.utility_option_create(
        actor=None, model=model, name="Kreis", values={"features": 8, "support": "good"}
    )
    services.utility_option_create(actor=None, model=model, name="Other", values={"features": 3})
    return model


@pytest.mark.django_db
def test_utility_analysis_page_highlights_the_winner_and_downloads_the_matrix(dana, crm_choice):
    client = client_for(dana)
    page = client.get(f"/analytics/scoring/{crm_choice.pk}/options/").content.decode()
    winner = page.split('data-testid="winner"')[1].split("</tr>")[0]
    assert "Kreis" in winner
    assert "100.0 %" in winner
    response = client.post(
        f"/analytics/scoring/{crm_choice.pk}/options/",
        {"new-name": "Newcomer", "new-value_features": "six", "new-value_support": "good"},
    )
    assert "Enter a number." in response.content.decode()
    assert 'value="Newcomer"' in response.content.decode()
    client.post(
        f"/analytics/scoring/{crm_choice.pk}/options/",
        {"new-name": "Newcomer", "new-value_features": "6", "new-value_support": "good"},
    )
    assert UtilityOption.objects.get(name="Newcomer").values == {"features": 6, "support": "good"}

    other = UtilityOption.objects.get(name="Other")
    response = client.post(
        f"/analytics/scoring/{crm_choice.pk}/options/{other.pk}/",
        {
            f"o{other.pk}-name": "Other",
            f"o{other.pk}-value_features": "9",
            f"o{other.pk}-value_support": "good",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Refresh"] == "true"
    csv = b"".join(client.get(f"/analytics/scoring/{crm_choice.pk}/matrix.csv").streaming_content)
    lines = csv.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Rank,Option,Features,Features points")
    assert lines[1] == "1,Kreis,8,10.0,20.0,good,10.0,10.0,30.0,100.0,A"
    assert lines[2].startswith("1,Other,9,10.0,20.0")
    chart = client.get(f"/analytics/scoring/{crm_choice.pk}/ranking.json").json()["option"]
    # ECharts draws the first category at the bottom: the best comes last, on top.
    assert chart["yAxis"]["data"] == ["Newcomer", "Other", "Kreis"]


# --- API ----------------------------------------------------------------------------------------


def api_client(key):
    from django.test import Client

    class Api:
        def __getattr__(self, method):
            def call(path, data=None):
                return getattr(Client(), method)(
                    f"/api/v1/analytics{path}",
                    data if method == "get" else json.dumps(data) if data is not None else None,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}",
                )

            return call

    return Api()


@pytest.mark.django_db
def test_api_create_preview_apply_round_trip(dana, api_key_for):
    api = api_client(api_key_for(dana))
    party = customer(revenue_12m=Decimal("20000"), abc_class="A")
    created = api.post(
        "/scoring-models",
        {
            "name": "Customer value",
            "target": "customer",
            "grades": [[50, "A"], [0, "B"]],
            "criteria": [
                {"field": "revenue_12m", "weight": 3, "thresholds": REVENUE_STEPS},
                {"field": "abc_class", "thresholds": {"A": 10}},
            ],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["criteria"][1]["kind"] == "choice"
    assert body["criteria"][1]["label"] == "ABC class"
    model_id = body["id"]
    preview = api.get(f"/scoring-models/{model_id}/preview").json()
    assert preview["rows"][0]["score"] == 62.5  # (3×5 + 10) / 40
    assert preview["rows"][0]["cells"][0] == {
        "criterion": body["criteria"][0]["id"],
        "field": "revenue_12m",
        "value": 20000,
        "points": 5.0,
        "weighted": None,
    }
    assert preview["distribution"] == [{"grade": "A", "count": 1}, {"grade": "B", "count": 0}]
    assert not ScoreRecord.objects.exists()
    assert api.post(f"/scoring-models/{model_id}/apply").json() == {
        "scored": 1,
        "changed": 1,
        "written": 0,  # history only: not the primary model yet
    }
    assert api.post(f"/scoring-models/{model_id}/primary").json()["is_primary"] is True
    party.refresh_from_db()
    assert (party.score, party.grade) == (62.5, "A")
    history = api.get("/scores", {"party": party.pk}).json()
    assert [(r["model_name"], r["score"], r["grade"]) for r in history["items"]] == [
        ("Customer value", 62.5, "A")
    ]
    changed = api.patch(f"/scoring-models/{model_id}", {"max_points": 5})
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "max_points"
    assert api.delete(f"/scoring-models/{model_id}").status_code == 204


@pytest.mark.django_db
def test_api_refuses_bad_criteria_with_the_row(dana, api_key_for):
    api = api_client(api_key_for(dana))
    response = api.post(
        "/scoring-models",
        {
            "name": "Bad",
            "target": "lead",
            "criteria": [{"field": "engagement", "thresholds": [[0, 1], [0, 2]]}],
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "criteria.0.thresholds"
    assert "used twice" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
def test_api_read_only_and_reps_cannot_change_or_apply(alice, rory, api_key_for):
    model = revenue_and_abc_model()
    rep = api_client(api_key_for(alice))
    reader = client_for(rory)  # a browser session: read-only users get no write keys
    url = f"/api/v1/analytics/scoring-models/{model.pk}"
    assert rep.get(f"/scoring-models/{model.pk}").status_code == 200
    assert reader.get(url).status_code == 200
    assert rep.post(f"/scoring-models/{model.pk}/apply").status_code == 403
    assert reader.post(f"{url}/apply").status_code == 403
    assert rep.post(f"/scoring-models/{model.pk}/activate").status_code == 403
    assert reader.post(f"{url}/activate").status_code == 403
    assert rep.patch(f"/scoring-models/{model.pk}", {"name": "Mine"}).status_code == 403
    model.refresh_from_db()
    assert model.name == "Customer value"
    assert model.applied_at is None
    assert not model.is_active


@pytest.mark.django_db
def test_api_scores_only_for_visible_records(alice, charlie, api_key_for):
    hidden = customer(owner=charlie)
    lead = LeadFactory(owner=alice)
    api = api_client(api_key_for(alice))
    assert api.get("/scores", {"party": hidden.pk}).status_code == 404
    assert api.get("/scores", {"lead": lead.pk}).json()["items"] == []
    assert api.get("/scores").status_code == 422


@pytest.mark.django_db
def test_api_utility_analysis_options_and_ranking(dana, api_key_for, crm_choice):
    api = api_client(api_key_for(dana))
    added = api.post(
        f"/scoring-models/{crm_choice.pk}/options", {"name": "Third", "values": {"features": 5}}
    )
    assert added.status_code == 201
    ranking = api.get(f"/scoring-models/{crm_choice.pk}/ranking").json()
    assert [(r["name"], r["rank"], r["weighted_points"]) for r in ranking["rows"]] == [
        ("Kreis", 1, 30.0),
        ("Third", 2, 20.0),
        ("Other", 3, 0.0),
    ]
    assert ranking["max_weighted_points"] == 30
    option_id = added.json()["id"]
    assert api.patch(
        f"/scoring-models/{crm_choice.pk}/options/{option_id}", {"values": {"features": 1}}
    ).json()["values"] == {"features": 1}
    assert api.delete(f"/scoring-models/{crm_choice.pk}/options/{option_id}").status_code == 204


@pytest.mark.django_db
def test_every_scoring_page_renders(dana, alice, crm_choice):
    model = revenue_and_abc_model()
    option = crm_choice.options.first()
    admin, rep = client_for(dana), client_for(alice)
    for url in [
        "/analytics/scoring/",
        "/analytics/scoring/new/",
        "/analytics/scoring/new/?target=lead",
        "/analytics/scoring/new/?target=option",
        f"/analytics/scoring/{model.pk}/",
        f"/analytics/scoring/{model.pk}/edit/",
        f"/analytics/scoring/{crm_choice.pk}/",
        f"/analytics/scoring/{crm_choice.pk}/edit/",
        f"/analytics/scoring/{crm_choice.pk}/options/{option.pk}/",
    ]:
        assert admin.get(url).status_code == 200, url
    fragment = admin.get(
        f"/analytics/scoring/{crm_choice.pk}/options/{option.pk}/", HTTP_HX_REQUEST="true"
    )
    assert fragment.content.decode().startswith("<tr")
    assert rep.get(f"/analytics/scoring/{crm_choice.pk}/options/").status_code == 200
    assert (
        "Add an option"
        not in rep.get(f"/analytics/scoring/{crm_choice.pk}/options/").content.decode()
    )
    assert rep.get(f"/analytics/scoring/{crm_choice.pk}/preview/").status_code == 302
    assert rep.get(f"/analytics/scoring/{model.pk}/options/").status_code == 404
