"""Pages for surveys: list, detail with the phase bar and the questionnaire, staff entry,
analysis, report; and the public page a contact answers on through a personal link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from kreis.core.web import apply_errors, too_many_posts
from kreis.feedback import queries, reports, services
from kreis.feedback.forms import QuestionForm, StaffEntryForm, SurveyForm
from kreis.feedback.models import (
    PHASE_ORDER,
    QuestionKind,
    SurveyMethod,
    SurveyPhase,
)
from kreis.parties.queries import party_list_for_user

MANAGE = "feedback.manage_survey"
ENTER = "feedback.enter_answers"
# Public answer page: at most this many POSTs per address and window (seconds).
ANSWER_POSTS_PER_IP = 30
ANSWER_WINDOW = 600


def _survey(request: HttpRequest, pk: int, perm: str = "feedback.view_survey"):
    return queries.survey_get_for_user(user=request.user, pk=pk, perm=perm)


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("feedback.view_survey"):
        raise PermissionDenied
    surveys = queries.survey_list_for_user(user=request.user)
    return render(
        request,
        "feedback/list.html",
        {"surveys": surveys, "can_manage": request.user.has_perm(MANAGE)},
    )


@login_required
def survey_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied
    form = SurveyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            survey = services.survey_create(actor=request.user, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("feedback:detail", survey.pk)
    return render(request, "feedback/form.html", {"form": form, "survey": None})


@login_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    form = SurveyForm(request.POST or None, instance=survey, user=request.user)
    if request.method == "POST":
        original = queries.survey_get_for_user(user=request.user, pk=pk, perm=MANAGE)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                services.survey_update(actor=request.user, survey=original, **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return redirect("feedback:detail", survey.pk)
    return render(request, "feedback/form.html", {"form": form, "survey": survey})


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk)
    user = request.user
    can_manage = user.has_perm(MANAGE, survey)
    counts = queries.invitation_counts(survey)
    context = {
        "survey": survey,
        "phases": [
            (value, label, i < survey.phase_index, value == survey.phase)
            for i, (value, label) in enumerate(SurveyPhase.choices)
        ],
        "moves": [
            (m, SurveyPhase(m).label, PHASE_ORDER.index(m) > survey.phase_index)
            for m in services.allowed_moves(survey)
        ]
        if can_manage
        else [],
        "changes": survey.phase_changes.select_related("actor"),
        "questions": survey.questions.all(),
        "question_form": QuestionForm(prefix="new") if can_manage else None,
        "can_manage": can_manage,
        "can_enter": user.has_perm(ENTER, survey),
        "counts": counts,
        "pending": counts["invited"] - counts["answered"],
        "n_responses": survey.responses.count(),
        "online": survey.method == SurveyMethod.ONLINE,
        "collecting": survey.phase == SurveyPhase.COLLECTION,
        "reports": survey.reports.defer("html", "pdf"),
        "target_count": _target_count(survey, user) if can_manage else None,
    }
    return render(request, "feedback/detail.html", context)


def _target_count(survey, user) -> int | None:
    if not survey.target_segment_id and not survey.target_view_id and not survey.target_query:
        return None
    return services.target_parties(survey=survey, user=user).count()


@login_required
@require_POST
def survey_move(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        services.survey_move(
            actor=request.user,
            survey=survey,
            to_phase=request.POST.get("to_phase", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("feedback:detail", pk)


@login_required
@require_POST
def survey_delete(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        services.survey_delete(actor=request.user, survey=survey)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("feedback:detail", pk)
    messages.success(request, _("Survey deleted."))
    return redirect("feedback:list")


def _question(survey, question_pk: int):
    question = survey.questions.filter(pk=question_pk).first()
    if question is None:
        raise Http404
    return question


@login_required
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    form = QuestionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.question_add(actor=request.user, survey=survey, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
    if form.errors:
        return render(
            request,
            "feedback/question_form.html",
            {"survey": survey, "form": form, "question": None},
            status=422,
        )
    return redirect(reverse("feedback:detail", args=[pk]) + "#questions")


@login_required
def question_edit(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    question = _question(survey, question_pk)
    form = QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        fresh = _question(survey, question_pk)
        try:
            services.question_update(actor=request.user, question=fresh, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect(reverse("feedback:detail", args=[pk]) + f"#question-{question_pk}")
    return render(
        request,
        "feedback/question_form.html",
        {"survey": survey, "form": form, "question": question},
    )


@login_required
@require_POST
def question_delete(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        services.question_delete(actor=request.user, question=_question(survey, question_pk))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(reverse("feedback:detail", args=[pk]) + "#questions")


@login_required
@require_POST
def question_move(request: HttpRequest, pk: int, question_pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    step = -1 if request.POST.get("step") == "up" else 1
    try:
        services.question_move(
            actor=request.user, question=_question(survey, question_pk), step=step
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(reverse("feedback:detail", args=[pk]) + f"#question-{question_pk}")


@login_required
@require_POST
def survey_invite(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        result = services.survey_invite(
            actor=request.user, survey=survey, base_url=request.build_absolute_uri("/")
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(invited)d invited, %(without)d without an e-mail address, %(already)d before.")
            % {
                "invited": result.invited,
                "without": result.without_email,
                "already": result.already_invited,
            },
        )
    return redirect("feedback:detail", pk)


@login_required
@require_POST
def survey_remind(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        count = services.survey_remind(
            actor=request.user, survey=survey, base_url=request.build_absolute_uri("/")
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(count)d reminders sent.") % {"count": count})
    return redirect("feedback:detail", pk)


def _question_rows(questions, language: str, raw: dict, errors: dict) -> list[dict]:
    """What the questionnaire template needs per question: text, options, entered values."""
    rows = []
    for q in questions:
        got = raw.get(q.pk) or {}
        options = q.options(language)
        row = {
            "q": q,
            "name": f"q{q.pk}",
            "text": q.text(language),
            "error": errors.get(f"q{q.pk}", ""),
            "value": str(got.get("value", "")),
            "value2": str(got.get("value2", "")),
            "text_value": got.get("text", ""),
            "chosen": {str(c) for c in got.get("choices") or []},
        }
        if q.kind == QuestionKind.NPS:
            row["points"] = [str(i) for i in range(11)]
        elif q.kind in (QuestionKind.SCALE, QuestionKind.EXPECTATION):
            labels = options if len(options) == 5 else []
            row["points"] = [str(i) for i in range(1, 6)]
            row["labels"] = labels
        else:
            row["options"] = [(str(i), label) for i, label in enumerate(options)]
        rows.append(row)
    return rows


def _errors(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {k: " ".join(v) for k, v in exc.message_dict.items()}
    return {"__all__": " ".join(exc.messages)}


@login_required
def response_enter(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, ENTER)
    if survey.phase != SurveyPhase.COLLECTION:
        messages.error(request, _("Answers are entered in the collection phase."))
        return redirect("feedback:detail", pk)
    questions = list(survey.questions.all())
    parties = party_list_for_user(user=request.user)
    form = StaffEntryForm(
        request.POST or None,
        parties=parties,
        anonymous=survey.anonymous,
        initial={"language": translation.get_language() or survey.language},
    )
    raw: dict = {}
    errors: dict = {}
    if request.method == "POST":
        raw = services.answers_from_post(questions, request.POST)
        if form.is_valid():
            try:
                services.response_enter(
                    actor=request.user,
                    survey=survey,
                    party=form.cleaned_data["party"],
                    channel=form.cleaned_data["channel"],
                    language=form.cleaned_data["language"],
                    raw_answers=raw,
                )
            except ValidationError as exc:
                errors = _errors(exc)
                for key, message in errors.items():
                    if not (key.startswith("q") and key[1:].isdigit()):
                        field = {"party_id": "party"}.get(key, key)
                        form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, _("Answer saved."))
                return redirect("feedback:enter", pk)
    language = translation.get_language() or "en"
    return render(
        request,
        "feedback/enter.html",
        {
            "survey": survey,
            "form": form,
            "rows": _question_rows(questions, language, raw, errors),
        },
        status=422 if errors or form.errors else 200,
    )


@login_required
def response_detail(request: HttpRequest, pk: int, response_pk: int) -> HttpResponse:
    survey = _survey(request, pk)
    response = queries.response_get_for_user(user=request.user, survey=survey, pk=response_pk)
    show_party = queries.party_visible(user=request.user, party=response.party)
    language = translation.get_language() or "en"
    answers = []
    for a in response.answers.all():
        q = a.question
        shown = a.text
        if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            options = q.options(language)
            shown = options[a.value] if a.value is not None and a.value < len(options) else ""
        elif q.kind == QuestionKind.EXPECTATION:
            shown = _("expected %(soll)s, got %(ist)s") % {"soll": a.value, "ist": a.value2}
        elif a.value is not None:
            shown = str(a.value)
        answers.append((q.position, q.text(language), shown))
    answers.sort(key=lambda t: t[0])
    return render(
        request,
        "feedback/response.html",
        {"survey": survey, "response": response, "show_party": show_party, "answers": answers},
    )


def _analysis_context(request: HttpRequest, survey) -> dict:
    data = queries.survey_analysis_for_user(user=request.user, survey=survey)
    language = translation.get_language() or "en"
    for item in data["questions"]:
        item["text"] = item["text_de"] if language == "de" else item["text_en"]
    texts = {q["id"]: q["text"] for q in data["questions"]}
    free_text = [
        {
            "question": texts.get(t["question_id"], ""),
            "text": t["text"],
            "response_id": t["response_id"],
            "party_id": t["response__party_id"],
        }
        for t in data["free_text"]
    ]
    return {
        "survey": survey,
        "data": data,
        "free_text": free_text,
        "chart": reports.chart_data(data, language),
        "breakdowns": reports.breakdown_tables(data),
        "language": language,
    }


@login_required
def survey_analysis(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk)
    return render(request, "feedback/analysis.html", _analysis_context(request, survey))


@login_required
def survey_analysis_json(request: HttpRequest, pk: int) -> JsonResponse:
    survey = _survey(request, pk)
    return JsonResponse(queries.survey_analysis_for_user(user=request.user, survey=survey))


@login_required
@require_POST
def report_create(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey(request, pk, MANAGE)
    try:
        report = reports.report_create(actor=request.user, survey=survey)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("feedback:detail", pk)
    return redirect("feedback:report", pk, report.pk)


def _report(request: HttpRequest, pk: int, report_pk: int):
    survey = _survey(request, pk)
    report = survey.reports.filter(pk=report_pk).first()
    if report is None:
        raise Http404
    return survey, report


@login_required
def report_detail(request: HttpRequest, pk: int, report_pk: int) -> HttpResponse:
    survey, report = _report(request, pk, report_pk)
    return render(request, "feedback/report_page.html", {"survey": survey, "report": report})


@login_required
def report_pdf(request: HttpRequest, pk: int, report_pk: int) -> HttpResponse:
    survey, report = _report(request, pk, report_pk)
    if not report.pdf:
        raise Http404
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="survey-{survey.pk}-report-{report.pk}.pdf"'
    )
    return response


# --- The public answer page ------------------------------------------------------------------


def _too_many(request: HttpRequest) -> bool:
    return too_many_posts(
        request, scope="survey-answer", limit=ANSWER_POSTS_PER_IP, window=ANSWER_WINDOW
    )


@never_cache
@csrf_protect
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """A contact's personal survey page, in the invitation's language; one answer per link."""
    invitation, state = services.invitation_for_token(token)
    language = invitation.language if invitation else (translation.get_language() or "en")
    with translation.override(language):
        if state != services.TokenState.VALID:
            return render(
                request,
                "feedback/answer_closed.html",
                {"state": state, "language": language},
                status=410 if state in ("used", "expired", "closed") else 404,
            )
        survey = invitation.survey
        questions = list(survey.questions.all())
        raw: dict = {}
        errors: dict = {}
        status = 200
        if request.method == "POST":
            if _too_many(request):
                return render(
                    request,
                    "feedback/answer_closed.html",
                    {"state": "throttled", "language": language},
                    status=429,
                )
            raw = services.answers_from_post(questions, request.POST)
            try:
                services.response_submit_online(raw_token=token, raw_answers=raw)
            except ValidationError as exc:
                if getattr(exc, "code", None) in ("used", "expired", "closed", "unknown"):
                    return render(
                        request,
                        "feedback/answer_closed.html",
                        {"state": exc.code, "language": language},
                        status=410,
                    )
                errors = _errors(exc)
                status = 422
            else:
                return render(
                    request, "feedback/answer_thanks.html", {"survey": survey, "language": language}
                )
        return render(
            request,
            "feedback/answer.html",
            {
                "survey": survey,
                "rows": _question_rows(questions, language, raw, errors),
                "errors": errors,
                "language": language,
            },
            status=status,
        )
