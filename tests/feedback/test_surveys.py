"""Surveys through their phases: invitations by e-mail, answers through a single-use link,
staff entry, anonymity, the party's last scores and its timeline."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.feedback import analysis, services
from kreis.feedback.models import (
    Answer,
    Invitation,
    Response,
    Survey,
    SurveyMethod,
    SurveyPhase,
)
from kreis.feedback.services import TokenState
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.feedback.conftest import build_survey, person

pytestmark = pytest.mark.django_db

BASE = "https://crm.example.com/"


def _invite(marta, north, django_capture_on_commit_callbacks, **survey_fields):
    de = person(
        team=north, email="anna@example.de", country="DE", first_name="Anna", last_name="Wexford"
    )
    en = person(
        team=north, email="john@example.co.uk", country="GB", first_name="John", last_name="Smith"
    )
    none = person(team=north, first_name="Nora", last_name="Ohnemail")
    survey, q = build_survey(marta, target_query="kind=person", **survey_fields)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.survey_invite(actor=marta, survey=survey, base_url=BASE)
    return survey, q, result, de, en, none


def _token(message) -> str:
    return re.search(r"/surveys/a/([A-Za-z0-9_-]+)/", message.body).group(1)


def test_phases_move_one_step_forward_or_back_and_are_recorded(marta):
    survey, _q = build_survey(marta, collect=False)
    with pytest.raises(ValidationError):
        services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.COLLECTION)
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.DESIGN, note="ok")
    services.survey_move(actor=marta, survey=survey, to_phase=SurveyPhase.DEFINITION)
    survey.refresh_from_db()
    assert survey.phase == SurveyPhase.DEFINITION
    changes = list(survey.phase_changes.values_list("from_phase", "to_phase", "actor", "note"))
    assert changes == [
        ("definition", "design", marta.pk, "ok"),
        ("design", "definition", marta.pk, ""),
    ]


def test_questions_are_frozen_once_collection_begins(marta):
    survey, q = build_survey(marta)
    with pytest.raises(ValidationError):
        services.question_update(actor=marta, question=q["nps"], text_en="Changed?")
    with pytest.raises(ValidationError):
        services.question_delete(actor=marta, question=q["text"])


def test_invitation_mail_is_personal_and_in_the_contacts_language(
    marta, north, django_capture_on_commit_callbacks
):
    survey, _q, result, de, en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    assert (result.invited, result.without_email, result.already_invited) == (2, 1, 0)
    by_address = {m.to[0]: m for m in mail.outbox}
    german, english = by_address["anna@example.de"], by_address["john@example.co.uk"]
    assert "Ihre Meinung" in german.subject
    assert "Zufriedenheit 2026" in german.subject
    assert "Hallo Anna Wexford" in german.body
    assert german.body.count(BASE + "surveys/a/") == 1
    assert "Your opinion" in english.subject
    assert "Hello John Smith" in english.body
    # Only the hash of the token is stored; the link carries at least 128 bits.
    token = _token(german)
    assert len(token) >= 43
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert Invitation.objects.get(party=de).language == "de"
    assert Invitation.objects.get(party=en).language == "en"
    # Inviting again invites nobody twice.
    again = services.survey_invite(actor=marta, survey=survey, base_url=BASE)
    assert (again.invited, again.already_invited) == (0, 2)


def test_link_answers_once_then_shows_a_clear_page(
    marta, north, django_capture_on_commit_callbacks
):
    survey, q, _r, de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    token = _token(next(m for m in mail.outbox if m.to == ["anna@example.de"]))
    page = client_for(marta).__class__()  # anonymous visitor
    url = f"/surveys/a/{token}/"
    got = page.get(url)
    assert got.status_code == 200
    assert "Wie wahrscheinlich empfehlen Sie uns weiter?" in got.content.decode()
    # A missing required answer: 422, the error named, what was entered kept.
    bad = page.post(url, {f"q{q['text'].pk}": "Schneller liefern"})
    body = bad.content.decode()
    assert bad.status_code == 422
    assert "Bitte beantworten Sie diese Frage." in body or "Please answer" in body
    assert "Schneller liefern" in body
    ok = page.post(
        url,
        {
            f"q{q['nps'].pk}": "3",
            f"q{q['repurchase'].pk}": "4",
            f"q{q['delivery'].pk}_soll": "4",
            f"q{q['delivery'].pk}_ist": "2",
            f"q{q['channel'].pk}": ["0", "2"],
            f"q{q['text'].pk}": "Schneller liefern",
        },
    )
    assert ok.status_code == 200
    response = Response.objects.get(survey=survey)
    assert response.party == de
    assert response.nps == 3
    assert response.channel == "online"
    assert sorted(Answer.objects.filter(question=q["channel"]).values_list("value", flat=True)) == [
        0,
        2,
    ]
    again = page.get(url)
    assert again.status_code == 410
    assert 'data-state="used"' in again.content.decode()
    assert page.post(url, {f"q{q['nps'].pk}": "10"}).status_code == 410
    assert Response.objects.count() == 1


def test_expired_link_is_refused(marta, north, django_capture_on_commit_callbacks):
    _s, q, _r, _de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    token = _token(mail.outbox[0])
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.invitation_for_token(token)[1] == TokenState.EXPIRED
    with pytest.raises(ValidationError):
        services.response_submit_online(
            raw_token=token,
            raw_answers={q["nps"].pk: {"value": 9}, q["repurchase"].pk: {"value": 5}},
        )
    assert Response.objects.count() == 0
    assert services.invitation_for_token("x" * 43)[1] == TokenState.UNKNOWN


def test_reminder_goes_to_who_has_not_answered_with_a_new_link(
    marta, north, django_capture_on_commit_callbacks
):
    _s, q, _r, _de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    first = {m.to[0]: _token(m) for m in mail.outbox}
    services.response_submit_online(
        raw_token=first["anna@example.de"],
        raw_answers={q["nps"].pk: {"value": 10}, q["repurchase"].pk: {"value": 5}},
    )
    mail.outbox.clear()
    survey = _s
    with django_capture_on_commit_callbacks(execute=True):
        reminded = services.survey_remind(actor=marta, survey=survey, base_url=BASE)
    assert reminded == 1
    assert [m.to for m in mail.outbox] == [["john@example.co.uk"]]
    assert "Reminder" in mail.outbox[0].subject
    new = _token(mail.outbox[0])
    assert services.invitation_for_token(first["john@example.co.uk"])[1] == TokenState.UNKNOWN
    assert services.invitation_for_token(new)[1] == TokenState.VALID


def test_answer_stores_last_scores_on_the_party_and_a_timeline_entry(
    marta, north, django_capture_on_commit_callbacks
):
    _s, q, _r, de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    token = _token(next(m for m in mail.outbox if m.to == ["anna@example.de"]))
    services.response_submit_online(
        raw_token=token,
        raw_answers={
            q["nps"].pk: {"value": 9},
            q["repurchase"].pk: {"value": 4},
            q["switching"].pk: {"value": 2},
        },
    )
    de.refresh_from_db()
    assert de.last_nps == 9
    # CSAT: mean of the 1–5 ratings (4, 2) = 3.0; loyalty: (90 + 75 + (100 − 25)) / 3 = 80.
    assert de.last_csat == pytest.approx(3.0)
    assert de.last_loyalty == pytest.approx(80.0)
    assert de.last_survey_answered_at is not None
    entry = Activity.objects.get(party=de)
    assert entry.kind == "note"
    assert "Zufriedenheit 2026" in entry.subject
    assert "NPS 9" in entry.body


def test_anonymous_survey_stores_no_party(marta, north, django_capture_on_commit_callbacks):
    survey, q, _r, de, _en, _none = _invite(
        marta, north, django_capture_on_commit_callbacks, anonymous=True
    )
    token = _token(next(m for m in mail.outbox if m.to == ["anna@example.de"]))
    assert "anonym" in next(m for m in mail.outbox if m.to == ["anna@example.de"]).body
    services.response_submit_online(
        raw_token=token, raw_answers={q["nps"].pk: {"value": 2}, q["repurchase"].pk: {"value": 1}}
    )
    response = Response.objects.get(survey=survey)
    assert response.party_id is None
    assert (response.abc_class, response.lifecycle_phase, response.segment) == ("", "", "")
    de.refresh_from_db()
    assert de.last_nps is None
    assert not Activity.objects.filter(party=de).exists()
    # Still counted in the analysis.
    assert analysis.survey_analysis(survey)["overall"]["detractors"] == 1


def test_staff_entry_by_phone(sam, marta, north):
    survey, q = build_survey(marta, method=SurveyMethod.PHONE)
    customer = person(team=north)
    response = services.response_enter(
        actor=sam,
        survey=survey,
        party=customer,
        channel="phone",
        raw_answers={q["nps"].pk: {"value": 8}, q["repurchase"].pk: {"value": 5}},
    )
    assert response.entered_by == sam
    assert response.channel == "phone"
    with pytest.raises(ValidationError) as error:
        services.response_enter(
            actor=sam,
            survey=survey,
            party=customer,
            channel="phone",
            raw_answers={q["nps"].pk: {"value": 11}, q["repurchase"].pk: {"value": 5}},
        )
    assert f"q{q['nps'].pk}" in error.value.message_dict


def test_who_may_do_what(alice, sam, marta, mia, dana, rory, north):
    survey, q = build_survey(marta)
    build_survey(mia)
    build_survey(dana)
    for user in (alice, sam, rory):
        with pytest.raises(PermissionDenied):
            services.survey_create(actor=user, name="Nope")
        with pytest.raises(PermissionDenied):
            services.survey_move(actor=user, survey=survey, to_phase=SurveyPhase.ANALYSIS)
    for user in (alice, rory):
        with pytest.raises(PermissionDenied):
            services.response_enter(
                actor=user, survey=survey, party=None, channel="phone", raw_answers={}
            )
    assert client_for(alice).get(f"/surveys/{survey.pk}/").status_code == 404
    assert client_for(sam).get(f"/surveys/{survey.pk}/enter/").status_code == 200
    assert (
        client_for(sam).post(f"/surveys/{survey.pk}/move/", {"to_phase": "analysis"}).status_code
        == 403
    )
    assert client_for(rory).get(f"/surveys/{survey.pk}/analysis/").status_code == 200


def test_answers_party_shown_only_to_who_may_see_it(marta, sam, south, north):
    from kreis.core.models import Role
    from tests.factories import MembershipFactory, UserFactory

    survey, q = build_survey(marta, method=SurveyMethod.PERSONAL)
    southern = person(team=south, first_name="Sigrid", last_name="Süd")
    services.response_enter(
        actor=UserFactory(role=Role.ADMIN),
        survey=survey,
        party=southern,
        channel="personal",
        raw_answers={
            q["nps"].pk: {"value": 5},
            q["repurchase"].pk: {"value": 2},
            q["text"].pk: {"text": "Zu teuer"},
        },
    )
    response = Response.objects.get()
    south_agent = UserFactory(role=Role.SERVICE_AGENT)
    MembershipFactory(team=south, user=south_agent)
    page = client_for(sam).get(f"/surveys/{survey.pk}/responses/{response.pk}/").content.decode()
    assert "Sigrid" not in page
    assert (
        "Sigrid"
        in client_for(south_agent)
        .get(f"/surveys/{survey.pk}/responses/{response.pk}/")
        .content.decode()
    )
    data = client_for(sam).get(f"/surveys/{survey.pk}/analysis.json").json()
    assert data["free_text"][0]["text"] == "Zu teuer"
    assert data["free_text"][0]["response__party_id"] is None
    # sam may not even enter an answer for a party he cannot see.
    with pytest.raises(ValidationError):
        services.response_enter(
            actor=sam,
            survey=survey,
            party=southern,
            channel="personal",
            raw_answers={q["nps"].pk: {"value": 5}, q["repurchase"].pk: {"value": 2}},
        )


def test_analysis_from_the_database_by_hand(marta, north):
    survey, q = build_survey(marta, method=SurveyMethod.WRITTEN)
    # Four respondents: NPS 10, 9, 7, 3 → promoters 2, detractors 1: NPS = 25.
    # Repurchase 5, 4, 3, 2 → CSAT 50 %. Delivery SOLL/IST: (3,5) (4,4) (4,2) → 1/1/1.
    rows = [(10, 5, (3, 5)), (9, 4, (4, 4)), (7, 3, (4, 2)), (3, 2, None)]
    for nps_value, rating, pair in rows:
        raw = {q["nps"].pk: {"value": nps_value}, q["repurchase"].pk: {"value": rating}}
        if pair:
            raw[q["delivery"].pk] = {"value": pair[0], "value2": pair[1]}
        party = person(team=north, abc_class="A" if nps_value >= 9 else "C")
        services.response_enter(
            actor=marta, survey=survey, party=party, channel="written", raw_answers=raw
        )
    data = analysis.survey_analysis(survey)
    overall = data["overall"]
    assert overall["nps"] == pytest.approx(25.0)
    assert overall["csat"] == pytest.approx(50.0)
    # Loyalty: recommend mean (100 + 90 + 70 + 30) / 4 = 72.5; repurchase mean of
    # 25·(v − 1) for 5, 4, 3, 2 = (100 + 75 + 50 + 25) / 4 = 62.5 → (72.5 + 62.5) / 2 = 67.5.
    assert overall["loyalty"] == pytest.approx(67.5)
    delivery = next(i for i in data["questions"] if i["id"] == q["delivery"].pk)
    assert delivery["n"] == 3
    assert delivery["delighted"] == pytest.approx(100 / 3)
    assert delivery["dissatisfied"] == pytest.approx(100 / 3)
    by_abc = data["breakdowns"]["abc_class"]
    assert by_abc["A"]["nps"] == pytest.approx(100.0)
    assert by_abc["C"]["nps"] == pytest.approx(-50.0)
    # A: ratings 5, 4 → CSAT 100 %; loyalty (mean(100, 90) + mean(100, 75)) / 2 = 91.25.
    # C: ratings 3, 2 → CSAT 0 %; loyalty (mean(70, 30) + mean(50, 25)) / 2 = 43.75.
    assert by_abc["A"]["csat"] == pytest.approx(100.0)
    assert by_abc["A"]["loyalty"] == pytest.approx(91.25)
    assert by_abc["C"]["csat"] == pytest.approx(0.0)
    assert by_abc["C"]["loyalty"] == pytest.approx(43.75)


def test_report_is_archived_with_the_survey_as_html_and_pdf(marta, north):
    survey, q = build_survey(marta, method=SurveyMethod.PERSONAL)
    services.response_enter(
        actor=marta,
        survey=survey,
        party=person(team=north),
        channel="personal",
        raw_answers={q["nps"].pk: {"value": 10}, q["repurchase"].pk: {"value": 4}},
    )
    client = client_for(marta)
    assert client.post(f"/surveys/{survey.pk}/reports/").status_code == 302  # not yet: analysis
    assert not survey.reports.exists()
    for phase in (SurveyPhase.ANALYSIS, SurveyPhase.DOCUMENTATION):
        services.survey_move(actor=marta, survey=survey, to_phase=phase)
    created = client.post(f"/surveys/{survey.pk}/reports/")
    report = survey.reports.get()
    assert created["Location"] == f"/surveys/{survey.pk}/reports/{report.pk}/"
    assert "NPS" in report.html
    assert "100,0" in report.html or "100.0" in report.html
    assert "<svg" in report.html
    assert bytes(report.pdf).startswith(b"%PDF")
    page = client.get(f"/surveys/{survey.pk}/reports/{report.pk}/")
    assert page.status_code == 200
    pdf = client.get(f"/surveys/{survey.pk}/reports/{report.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_pages_build_a_survey_and_enter_an_answer(marta, sam, north):
    client = client_for(marta)
    created = client.post(
        "/surveys/new/",
        {"name": "Telefonumfrage", "method": "phone", "language": "de", "link_valid_days": "30"},
    )
    survey = Survey.objects.get(name="Telefonumfrage")
    assert created["Location"] == f"/surveys/{survey.pk}/"
    bad = client.post(
        f"/surveys/{survey.pk}/questions/add/",
        {"new-kind": "single_choice", "new-text_de": "Welche?", "new-text_en": "Which?"},
    )
    assert bad.status_code == 422
    assert "Welche?" in bad.content.decode()  # what was typed is kept
    for text, kind in (("Empfehlen?", "nps_0_10"), ("Zufrieden?", "scale_1_5")):
        client.post(
            f"/surveys/{survey.pk}/questions/add/",
            {"new-kind": kind, "new-text_de": text, "new-text_en": text, "new-required": "on"},
        )
    first, second = survey.questions.all()
    client.post(f"/surveys/{survey.pk}/questions/{second.pk}/move/", {"step": "up"})
    assert list(survey.questions.values_list("pk", flat=True)) == [second.pk, first.pk]
    for phase in ("design", "collection"):
        client.post(f"/surveys/{survey.pk}/move/", {"to_phase": phase})
    survey.refresh_from_db()
    assert survey.phase == "collection"
    listing = client.get("/surveys/").content.decode()
    assert "Telefonumfrage" in listing
    customer = person(team=north, first_name="Karl", last_name="Kunde")
    entry = client_for(sam).post(
        f"/surveys/{survey.pk}/enter/",
        {
            "party": f"Karl Kunde (#{customer.pk})",
            "channel": "phone",
            "language": "de",
            f"q{first.pk}": "9",
            f"q{second.pk}": "5",
        },
    )
    assert entry.status_code == 302
    response = Response.objects.get(survey=survey)
    assert (response.party, response.entered_by, response.nps) == (customer, sam, 9)


def test_admin_lists_surveys_and_keeps_a_collecting_questionnaire(marta, dana):
    survey, q = build_survey(marta)
    client = client_for(dana)
    dana.is_staff = True
    dana.is_superuser = True
    dana.save()
    assert client.get("/django-admin/feedback/survey/").status_code == 200
    page = client.get(f"/django-admin/feedback/survey/{survey.pk}/change/").content.decode()
    assert q["nps"].text_de in page
    assert 'name="questions-0-text_de"' not in page  # read-only while collecting


def test_answer_posts_are_limited_per_address(
    marta, north, django_capture_on_commit_callbacks, monkeypatch
):
    from kreis.feedback import views

    _s, q, _r, _de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    monkeypatch.setattr(views, "ANSWER_POSTS_PER_IP", 2)
    url = f"/surveys/a/{_token(mail.outbox[0])}/"
    visitor = client_for(marta).__class__()
    assert visitor.post(url, {}).status_code == 422
    assert visitor.post(url, {}).status_code == 422
    refused = visitor.post(url, {f"q{q['nps'].pk}": "9", f"q{q['repurchase'].pk}": "5"})
    assert refused.status_code == 429
    assert not Response.objects.exists()


def test_answer_of_a_party_deleted_since_the_invitation_is_kept_unnamed(
    marta, north, django_capture_on_commit_callbacks
):
    survey, q, _r, de, _en, _none = _invite(marta, north, django_capture_on_commit_callbacks)
    token = _token(next(m for m in mail.outbox if m.to == ["anna@example.de"]))
    Party.objects.filter(pk=de.pk).update(deleted_at=timezone.now())
    services.response_submit_online(
        raw_token=token, raw_answers={q["nps"].pk: {"value": 8}, q["repurchase"].pk: {"value": 4}}
    )
    response = Response.objects.get(survey=survey)
    assert response.party_id is None
    assert response.nps == 8
    assert not Activity.objects.filter(party=de).exists()


def test_the_global_search_finds_surveys_for_those_who_may_see_them(marta, alice, rory):
    survey = build_survey(marta, collect=False)[0]
    for user, found in ((marta, True), (rory, True), (alice, False)):  # alice: a sales rep
        page = client_for(user).get("/search/", {"q": "zufriedenheit"}).content.decode()
        assert (f"/surveys/{survey.pk}/" in page) is found, user.username
