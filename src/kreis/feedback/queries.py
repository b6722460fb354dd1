"""Reads of surveys, permission-aware: every view and API route fetches through these."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.core.search import SearchHit
from kreis.feedback.analysis import survey_analysis
from kreis.feedback.models import Question, Response, Survey
from kreis.parties.models import Party


def survey_list_for_user(*, user: User) -> QuerySet[Survey]:
    if not user.has_perm("feedback.view_survey"):
        return Survey.objects.none()
    # Counted in subqueries: a join of both would multiply a big survey's rows.
    return Survey.objects.select_related("owner").annotate(
        n_questions=_count(Question),
        n_responses=_count(Response),
    )


def survey_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    """Surveys by name for the global search, only for users who may see surveys (a role
    permission: the search index's owner/team rule would show them to reps)."""
    if len(text) < 2 or not user.has_perm("feedback.view_survey"):
        return []
    surveys = Survey.objects.filter(name__icontains=text).order_by("-created_at", "-pk")
    return [
        SearchHit(
            title=survey.name,
            subtitle=survey.get_phase_display(),
            url=reverse("feedback:detail", args=[survey.pk]),
            icon="clipboard-data",
            entity="survey",
            object_id=survey.pk,
        )
        for survey in surveys[:limit]
    ]


def _count(model) -> Subquery:
    rows = model.objects.filter(survey=OuterRef("pk")).order_by().values("survey")
    return Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField())


def survey_get_for_user(*, user: User, pk: int, perm: str = "feedback.view_survey") -> Survey:
    """The survey, or 404 when the user may not see surveys; 403 when they may see but not do
    what ``perm`` asks (manage, enter answers)."""
    if not user.has_perm("feedback.view_survey"):
        raise Http404
    survey = (
        Survey.objects.select_related("owner", "target_view", "target_segment")
        .filter(pk=pk)
        .first()
    )
    if survey is None:
        raise Http404
    if perm != "feedback.view_survey" and not user.has_perm(perm, survey):
        raise PermissionDenied
    return survey


def invitation_counts(survey: Survey) -> dict[str, int]:
    return survey.invitations.aggregate(
        invited=Count("id"),
        answered=Count("id", filter=Q(answered_at__isnull=False)),
        reminded=Count("id", filter=Q(reminded_at__isnull=False)),
    )


def visible_party_ids(*, user: User, party_ids) -> set[int]:
    """Which of these parties the user may see: only those respondents are named to them."""
    ids = {pk for pk in party_ids if pk}
    if not ids:
        return set()
    visible = visible_records(Party.objects.filter(pk__in=ids), user=user)
    return set(visible.values_list("pk", flat=True))


def survey_analysis_for_user(*, user: User, survey: Survey) -> dict:
    """The survey's analysis as the user may read it: a free-text answer names its respondent
    (``response__party_id``) only where the user may see that party, else None."""
    data = survey_analysis(survey)
    visible = visible_party_ids(
        user=user, party_ids=[t["response__party_id"] for t in data["free_text"]]
    )
    for t in data["free_text"]:
        if t["response__party_id"] not in visible:
            t["response__party_id"] = None
    return data


def response_list_for_user(*, user: User, survey: Survey) -> QuerySet[Response]:
    return survey.responses.select_related("party", "entered_by").order_by("-created_at", "-pk")


def response_get_for_user(*, user: User, survey: Survey, pk: int) -> Response:
    response = (
        survey.responses.select_related("party", "entered_by")
        .prefetch_related("answers__question")
        .filter(pk=pk)
        .first()
    )
    if response is None:
        raise Http404
    return response


def party_visible(*, user: User, party: Party | None) -> bool:
    return party is not None and user.has_perm("core.view_record", party)
