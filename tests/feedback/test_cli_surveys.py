"""``kreis surveys list|send-invitations|remind|analyse|report``: the survey services from the
command line, acting as the survey's owner (or ``--user``) with that user's rights."""

from __future__ import annotations

import io
import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from kreis.feedback import services
from kreis.feedback.models import Invitation, SurveyPhase
from tests.feedback.conftest import build_survey, person

BASE = "https://crm.example.com/"


def run(*args) -> str:
    out = io.StringIO()
    call_command("surveys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def invited(marta, north):
    survey, q = build_survey(marta, target_query="kind=person")
    anna = person(team=north, email="anna@example.de", country="DE")
    ben = person(team=north, email="ben@example.com", country="GB")
    person(team=north)  # no e-mail address
    return survey, q, anna, ben


def test_list_shows_phase_questions_and_answers(invited):
    survey, *_ = invited
    table = run("list")
    assert f"#{survey.pk}" in table
    assert "collection" in table
    assert "1 survey(s)" in table
    rows = json.loads(run("list", "--json"))
    assert rows[0]["questions"] == 6
    assert rows[0]["owner"] == "marta"


def test_list_as_a_sales_rep_shows_nothing(invited, alice):
    assert "0 survey(s)" in run("list", "--user", "alice")


def test_send_invitations_as_the_owner_mails_a_personal_link_each(
    invited, django_capture_on_commit_callbacks
):
    survey, *_ = invited
    with django_capture_on_commit_callbacks(execute=True):
        out = run("send-invitations", str(survey.pk), "--base-url", BASE)
    assert "Inviting the target group" in out
    assert "2 invited, 0 invited before, 1 without an e-mail address" in out
    assert sorted(m.to[0] for m in mail.outbox) == ["anna@example.de", "ben@example.com"]
    assert BASE + "surveys/a/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        again = run("send-invitations", str(survey.pk), "--base-url", BASE)
    assert "0 invited, 2 invited before" in again


def test_remind_reaches_who_has_not_answered(invited, django_capture_on_commit_callbacks):
    survey, q, anna, _ben = invited
    with django_capture_on_commit_callbacks(execute=True):
        run("send-invitations", str(survey.pk), "--base-url", BASE)
    Invitation.objects.filter(party=anna).update(answered_at=survey.created_at)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 reminder(s) sent" in run("remind", str(survey.pk), "--base-url", BASE)
    assert [m.to[0] for m in mail.outbox] == ["ben@example.com"]


def test_a_user_who_may_not_manage_surveys_is_refused(invited, alice):
    survey, *_ = invited
    with pytest.raises(CommandError, match="may not manage"):
        run("send-invitations", str(survey.pk), "--base-url", BASE, "--user", "alice")
    with pytest.raises(CommandError, match="no survey"):
        run("remind", "99999", "--base-url", BASE)


def answered(marta, north):
    survey, q = build_survey(marta, method="personal")
    for nps, repurchase in ((10, 5), (9, 4), (3, 2)):
        services.response_enter(
            actor=marta,
            survey=survey,
            party=person(team=north),
            channel="personal",
            raw_answers={q["nps"].pk: {"value": nps}, q["repurchase"].pk: {"value": repurchase}},
        )
    return survey


def test_analyse_prints_the_scores_and_json_gives_all_figures(marta, north):
    survey = answered(marta, north)
    text = run("analyse", str(survey.pk))
    # NPS (2 promoters − 1 detractor) ÷ 3 × 100; CSAT: 2 of 3 repurchase answers are 4–5.
    assert "3 answer(s)" in text
    assert "NPS      33.3" in text
    assert "promoters 2, passives 0, detractors 1" in text
    assert "CSAT     66.7 %" in text
    data = json.loads(run("analyse", str(survey.pk), "--json"))
    assert data["responses"] == 3
    assert round(data["overall"]["nps"], 1) == 33.3
    assert "NPS = (promoters" in data["formulas"]["nps"]


def test_report_writes_the_pdf_in_the_documentation_phase_only(marta, north, tmp_path):
    survey = answered(marta, north)
    target = tmp_path / "report.pdf"
    with pytest.raises(CommandError, match="documentation phase"):
        run("report", str(survey.pk), "--output", str(target))
    for phase in (SurveyPhase.ANALYSIS, SurveyPhase.DOCUMENTATION):
        services.survey_move(actor=marta, survey=survey, to_phase=phase)
    out = run("report", str(survey.pk), "--output", str(target), "--language", "de")
    assert "archived with the survey" in out
    assert target.read_bytes().startswith(b"%PDF")
    assert survey.reports.count() == 1


def test_kreis_help_lists_the_surveys_command(capsys):
    from kreis.cli import main

    main(["--help"])
    assert "surveys" in capsys.readouterr().out
