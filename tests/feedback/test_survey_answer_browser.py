"""Surveys as the contact and the staff meet them in Chromium.

1. A contact answers an online survey through the personal link on a phone (390 px): every
   question kind is shown, a missing required answer is marked (the rest kept), fixed, sent;
   the thank-you page follows and the link is used up.
2. A customer's detractor answer (NPS 0–6) through the link: the survey's report shows the NPS,
   and after the next analytics run the customer's page shows the phase Endangerment with the
   detractor answer as its reason.
"""

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from kreis.analytics.runs import pipeline
from kreis.feedback import services
from kreis.feedback.models import QuestionKind, Response, SurveyPhase
from kreis.parties.models import ContactKind, ContactPoint
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.feedback.conftest import build_survey, person
from tests.feedback.test_detractor_lifecycle import regular_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEND = "Meine Antworten senden"


def _invite(actor, survey, live_server) -> str:
    """Send the invitations; the personal link from the (only) mail."""
    mail.outbox.clear()
    services.survey_invite(actor=actor, survey=survey, base_url=live_server.url + "/")
    assert len(mail.outbox) == 1
    return re.search(r"http\S+/surveys/a/\S+/", mail.outbox[0].body).group(0)


def _choose(page, question, value) -> None:
    """Click a point (0–10 or 1–5) of a question: the label stands for the hidden radio."""
    page.click(f"label[for=q{question.pk}-{value}]")


def test_every_question_kind_on_a_phone_then_the_link_is_used_up(page, live_server, marta, north):
    customer = person(team=north, email="jana@example.de", country="DE", first_name="Jana")
    survey, q = build_survey(marta, target_query="kind=person", collect=False)
    q["source"] = services.question_add(
        actor=marta,
        survey=survey,
        kind=QuestionKind.SINGLE,
        text_de="Wie haben Sie von uns erfahren?",
        text_en="How did you hear about us?",
        options_de="Messe\nEmpfehlung\nInternet",
        options_en="Trade fair\nReferral\nInternet",
    )
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.DESIGN)
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.COLLECTION)
    assert {question.kind for question in q.values()} == set(QuestionKind.values)
    link = _invite(marta, survey, live_server)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    # Every kind is there, in the contact's language, with its own inputs.
    for question in q.values():
        expect(page.locator(f"#field-q{question.pk}")).to_contain_text(question.text_de)
    assert page.locator(f"input[type=radio][name=q{q['nps'].pk}]").count() == 11
    assert page.locator(f"input[type=radio][name=q{q['repurchase'].pk}]").count() == 5
    assert page.locator(f"input[type=radio][name=q{q['delivery'].pk}_soll]").count() == 5
    assert page.locator(f"input[type=radio][name=q{q['delivery'].pk}_ist]").count() == 5
    assert page.locator(f"input[type=radio][name=q{q['source'].pk}]").count() == 3
    assert page.locator(f"input[type=checkbox][name=q{q['channel'].pk}]").count() == 3
    assert page.locator(f"textarea[name=q{q['text'].pk}]").count() == 1
    # Nothing wider than the phone: the eleven NPS points wrap or shrink, no sideways scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Everything but the recommendation (required): marked, the rest kept.
    _choose(page, q["repurchase"], 4)
    page.click(f"label[for=q{q['delivery'].pk}_soll-5]")
    page.click(f"label[for=q{q['delivery'].pk}_ist-3]")
    page.locator(f"#field-q{q['source'].pk}").get_by_text("Empfehlung").click()
    page.locator(f"#field-q{q['channel'].pk}").get_by_text("Shop").click()
    page.fill(f"textarea[name=q{q['text'].pk}]", "Schneller liefern")
    page.get_by_role("button", name=SEND).click()
    page.locator("[data-testid=answer-errors]").wait_for()
    nps_field = page.locator(f"#field-q{q['nps'].pk}")
    expect(nps_field).to_have_attribute("aria-invalid", "true")
    expect(nps_field.get_by_role("alert")).to_be_visible()
    for other in ("repurchase", "delivery", "source", "channel", "text"):
        assert page.locator(f"#field-q{q[other].pk}").get_attribute("aria-invalid") is None
    assert page.locator(f"textarea[name=q{q['text'].pk}]").input_value() == "Schneller liefern"
    expect(page.locator(f"#q{q['repurchase'].pk}-4")).to_be_checked()
    expect(page.locator(f"#field-q{q['source'].pk} input:checked")).to_have_count(1)
    expect(page.locator(f"#field-q{q['channel'].pk} input:checked")).to_have_count(1)
    assert Response.objects.filter(survey=survey).count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "survey-every-kind-error-phone.png"), full_page=True)

    # Fixed and sent: the thank-you page, the answers stored for the contact.
    _choose(page, q["nps"], 9)
    page.get_by_role("button", name=SEND).click()
    page.locator("[data-testid=answer-thanks]").wait_for()
    page.screenshot(path=str(SHOTS / "survey-every-kind-thanks-phone.png"), full_page=True)
    response = Response.objects.get(survey=survey)
    assert (response.party, response.nps) == (customer, 9)
    answers = {a.question_id: a for a in response.answers.all()}
    assert answers[q["repurchase"].pk].value == 4
    assert (answers[q["delivery"].pk].value, answers[q["delivery"].pk].value2) == (5, 3)
    assert answers[q["text"].pk].text == "Schneller liefern"
    assert {q["source"].pk, q["channel"].pk} <= answers.keys()

    # The link is used up: a second visit says so and shows no questions.
    page.goto(link)
    assert page.locator("[data-testid=link-state]").get_attribute("data-state") == "used"
    assert page.locator("fieldset.survey-question").count() == 0
    assert Response.objects.filter(survey=survey).count() == 1
    # The console holds the first submit's 422 (answer missing) and the used link's 410.
    assert [e for e in page.console_errors if "422" not in e and "410" not in e] == []


@pytest.fixture
def warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def test_report_shows_the_nps_and_the_detractor_is_endangered_after_the_run(
    page, live_server, warehouse, marta, north
):
    today = timezone.localdate()
    firm = regular_customer("Kritik GmbH", today, north)
    ContactPoint.objects.create(
        party=firm, kind=ContactKind.EMAIL, value="einkauf@kritik.example", is_primary=True
    )
    survey, q = build_survey(marta, target_query="kind=organization")
    link = _invite(marta, survey, live_server)

    # The customer answers as a detractor (3 of 10) on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    _choose(page, q["nps"], 3)
    _choose(page, q["repurchase"], 2)
    page.get_by_role("button", name=SEND).click()
    page.locator("[data-testid=answer-thanks]").wait_for()
    assert Response.objects.get(survey=survey).party == firm

    # The survey closes its collection; the nightly run reads the answer.
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.ANALYSIS)
    assert pipeline.run(as_of=today).status == "done"

    # The report (written in the documentation phase): NPS −100 from the one detractor answer.
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.DOCUMENTATION)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "marta")
    page.goto(f"{live_server.url}/surveys/{survey.pk}/")
    page.locator(f"form[action='/surveys/{survey.pk}/reports/'] button").click()
    page.wait_for_url(re.compile(rf"/surveys/{survey.pk}/reports/\d+/$"))
    nps_row = page.locator(".survey-report table.scores tr", has_text="NPS")
    expect(nps_row).to_contain_text("-100")
    expect(nps_row).to_contain_text("n = 1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "survey-report-detractor.png"), full_page=True)

    # The customer's page: Endangerment, and why.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/parties/{firm.pk}/")
    figures = page.get_by_test_id("party-figures")
    figures.wait_for()
    text = figures.inner_text()
    assert "Endangerment" in text or "Gefährdung" in text
    assert "detractor answer in a survey" in text or "Antwort als Kritiker in einer Umfrage" in text
    firm.refresh_from_db()
    assert (firm.lifecycle_phase, firm.lifecycle_reason) == (
        "endangerment",
        "endangerment.detractor",
    )
    page.screenshot(path=str(SHOTS / "party-endangered-by-detractor-phone.png"), full_page=True)
    assert page.console_errors == []
