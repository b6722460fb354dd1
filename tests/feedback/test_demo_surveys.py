"""``kreis demo``: cases in every state and two completed surveys with invitations and answers
from demo customers, submitted through the real services (the parties' last scores set), so
that the analysis and report pages show figures."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command

from kreis.feedback.analysis import survey_analysis
from kreis.feedback.models import Answer, Invitation, QuestionKind, Response, Survey
from kreis.parties.models import Party
from kreis.service.models import Case, CaseStatus
from kreis.service.queries import overdue_q
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    call_command("demo", "--size", "small", "--seed", "5", "--no-analytics", stdout=None)


def test_the_demo_has_cases_in_every_state_and_two_completed_surveys(demo):
    assert set(Case.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert Case.objects.filter(waiting_for_customer=True).exists()
    assert Case.objects.filter(overdue_q()).exists()
    surveys = list(Survey.objects.order_by("pk"))
    assert len(surveys) == 2
    for survey in surveys:
        assert survey.phase == "documentation"
        assert survey.phase_changes.count() == 4
        assert survey.invitations.count() > survey.responses.count() >= 20
        answered = survey.invitations.filter(answered_at__isnull=False).count()
        assert answered == survey.responses.filter(party__isnull=False).count()
        assert set(survey.responses.values_list("channel", flat=True)) == {"online", "phone"}
    # No mail went out: the demo records invitations, it does not send them.
    assert mail.outbox == []


def test_the_answers_are_a_mix_in_german_and_english_with_every_kind(demo):
    nps = list(Response.objects.exclude(nps=None).values_list("nps", flat=True))
    assert any(v >= 9 for v in nps)
    assert any(7 <= v <= 8 for v in nps)
    assert any(v <= 6 for v in nps)
    kinds = set(Answer.objects.values_list("question__kind", flat=True))
    assert kinds == set(QuestionKind.values)
    assert Answer.objects.filter(question__kind=QuestionKind.EXPECTATION, value2__isnull=False)
    languages = set(Response.objects.values_list("language", flat=True))
    assert languages == {"de", "en"}
    texts = Answer.objects.exclude(text="").values_list("text", "response__language")
    assert {lang for _text, lang in texts} == {"de", "en"}


def test_the_respondents_carry_their_last_scores_and_a_timeline_entry(demo):
    answered = Party.objects.filter(survey_responses__isnull=False).distinct()
    assert answered.exists()
    for party in answered[:5]:
        last = party.survey_responses.order_by("-created_at", "-pk").first()
        assert party.last_nps == last.nps
        assert party.last_csat is not None
        assert party.last_loyalty is not None
        assert party.activities.filter(subject__startswith="Survey answered").exists()


def test_the_analysis_and_report_pages_show_figures(demo):
    from kreis.core.models import User

    survey = Survey.objects.order_by("pk").first()
    figures = survey_analysis(survey)
    assert figures["responses"] >= 20
    assert figures["overall"]["nps"] is not None
    assert figures["overall"]["promoters"] > 0
    assert figures["overall"]["detractors"] > 0
    assert figures["overall"]["csat"] is not None
    assert figures["free_text"]
    admin = User.objects.get(username="admin")
    page = client_for(admin).get(f"/surveys/{survey.pk}/analysis/")
    assert page.status_code == 200
    assert Invitation.objects.filter(survey=survey, sent_at__isnull=False).exists()
