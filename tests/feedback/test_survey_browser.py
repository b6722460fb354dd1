"""A contact answers an online survey on a phone through the link from the e-mail: an error
first (kept input), then the answers; the survey's analysis shows the NPS, the report too."""

import re

import pytest
from django.core import mail

from kreis.feedback import services
from kreis.feedback.models import Response, SurveyPhase
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.feedback.conftest import build_survey, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_answer_an_online_survey_at_phone_width(page, live_server, marta, north):
    customer = person(team=north, email="anna@example.de", country="DE", first_name="Anna")
    survey, q = build_survey(marta, target_query="kind=person")
    services.survey_invite(actor=marta, survey=survey, base_url=live_server.url + "/")
    link = re.search(r"http\S+/surveys/a/\S+/", mail.outbox[0].body).group(0)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)
    page.get_by_text("Wie wahrscheinlich empfehlen Sie uns weiter?").wait_for()
    page.fill(f"textarea[name=q{q['text'].pk}]", "Schneller liefern")
    page.get_by_role("button", name="Meine Antworten senden").click()
    page.locator("[data-testid=answer-errors]").wait_for()
    assert page.locator(f"textarea[name=q{q['text'].pk}]").input_value() == "Schneller liefern"
    page.click(f"label[for=q{q['nps'].pk}-3]")
    page.click(f"label[for=q{q['repurchase'].pk}-2]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "survey-answer-phone.png"), full_page=True)
    page.get_by_role("button", name="Meine Antworten senden").click()
    page.locator("[data-testid=answer-thanks]").wait_for()
    response = Response.objects.get(survey=survey)
    assert response.party == customer
    assert response.nps == 3
    page.goto(link)
    assert page.locator("[data-testid=link-state]").get_attribute("data-state") == "used"
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.ANALYSIS)
    sign_in(page, live_server, "marta")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/surveys/{survey.pk}/analysis/")
    nps = page.locator("[data-testid=score-nps]")
    assert "-100" in nps.inner_text()
    assert "NPS =" in nps.get_attribute("title")
    # The console holds the first submit's 422 (answers missing) and the used link's 410.
    assert [e for e in page.console_errors if "422" not in e and "410" not in e] == []
