"""Writes of surveys: phases, questions, invitations, answers. Typed, keyword-only, atomic.

Online answers come through a personal link whose token (256 random bits) is stored only as
its SHA-256; the link works once and until it expires. Staff enter personal, phone and written
answers. Every answer is an interaction on the customer's timeline (an inbound note) and leaves
the respondent's NPS answer, CSAT and loyalty index on the party; an anonymous survey stores
neither the party nor the customer's figures on the response, and writes no timeline entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from kreis.activities.models import ActivityKind
from kreis.activities.services import activity_create
from kreis.core.models import SavedView, User
from kreis.feedback import analysis
from kreis.feedback.models import (
    CHOICE_KINDS,
    PHASE_ORDER,
    Answer,
    Invitation,
    Question,
    QuestionKind,
    Response,
    ResponseChannel,
    Survey,
    SurveyMethod,
    SurveyPhase,
    SurveyPhaseChange,
    hash_token,
)
from kreis.marketing.models import Segment
from kreis.marketing.segments.queries import segment_parties
from kreis.parties.exports import list_params
from kreis.parties.models import ContactKind, Party
from kreis.parties.queries import party_list_for_user

SURVEY_FIELDS = {
    "name",
    "goals",
    "core_questions",
    "method",
    "anonymous",
    "language",
    "target_query",
    "link_valid_days",
}
QUESTION_FIELDS = {
    "kind",
    "text_de",
    "text_en",
    "options_de",
    "options_en",
    "required",
    "dimension",
    "loyalty_factor",
}
# Countries whose contacts get German mail; others English; no address: the survey's language.
GERMAN_COUNTRIES = {"DE", "AT", "CH", "LI"}


def _require(actor: User | None, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def _refuse_unknown(fields: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})


# --- Surveys and phases ----------------------------------------------------------------------


def _check_target(survey: Survey, actor: User | None) -> None:
    if survey.target_view_id and actor is not None:
        view = survey.target_view
        if view.user_id != actor.pk or view.list_name != "parties":
            raise ValidationError({"target_view": _("Choose one of your saved party views.")})
    if survey.target_segment_id and actor is not None:
        if not actor.has_perm("marketing.view_record", survey.target_segment):
            raise ValidationError({"target_segment": _("Choose a segment you may see.")})


@transaction.atomic
def survey_create(
    *,
    actor: User | None,
    name: str,
    target_view: SavedView | None = None,
    target_segment: Segment | None = None,
    **fields: Any,
) -> Survey:
    """A new survey in its definition phase, owned by the actor."""
    _require(actor, "feedback.manage_survey")
    _refuse_unknown(fields, SURVEY_FIELDS)
    survey = Survey(
        name=name, target_view=target_view, target_segment=target_segment, owner=actor, **fields
    )
    _check_target(survey, actor)
    survey.full_clean(exclude=["owner", "team"])
    survey.save()
    return survey


@transaction.atomic
def survey_update(
    *,
    actor: User | None,
    survey: Survey,
    target_view: Any = ...,
    target_segment: Any = ...,
    **fields: Any,
) -> Survey:
    """Change a survey's definition. Method and anonymity are fixed once collection began."""
    _require(actor, "feedback.manage_survey", survey)
    _refuse_unknown(fields, SURVEY_FIELDS)
    collecting = survey.phase_index >= PHASE_ORDER.index(SurveyPhase.COLLECTION)
    for name in ("anonymous", "method"):
        if collecting and name in fields and fields[name] != getattr(survey, name):
            raise ValidationError({name: _("This cannot change once collection has begun.")})
    for name, value in fields.items():
        setattr(survey, name, value)
    if target_view is not ...:
        survey.target_view = target_view
    if target_segment is not ...:
        survey.target_segment = target_segment
    _check_target(survey, actor)
    survey.full_clean(exclude=["owner", "team"])
    survey.save()
    return survey


@transaction.atomic
def survey_delete(*, actor: User | None, survey: Survey) -> None:
    """Delete a survey that has no answers yet."""
    _require(actor, "feedback.manage_survey", survey)
    if survey.responses.exists():
        raise ValidationError(_("A survey with answers cannot be deleted."))
    survey.delete()


def allowed_moves(survey: Survey) -> list[str]:
    """Forward by one phase, or back by one for corrections (not back to design once there are
    answers: the questionnaire they answered must not change under them)."""
    index = survey.phase_index
    moves = []
    if index + 1 < len(PHASE_ORDER):
        moves.append(PHASE_ORDER[index + 1])
    if index > 0:
        back = PHASE_ORDER[index - 1]
        if not (back == SurveyPhase.DESIGN and survey.responses.exists()):
            moves.append(back)
    return moves


@transaction.atomic
def survey_move(
    *, actor: User | None, survey: Survey, to_phase: str, note: str = ""
) -> SurveyPhaseChange:
    """Move a survey to the next phase (or back one) and record who, when, from, to and why."""
    _require(actor, "feedback.manage_survey", survey)
    given = survey
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if to_phase not in allowed_moves(survey):
        raise ValidationError(
            {"to_phase": _("A survey moves forward one phase at a time, or back one.")}
        )
    if to_phase == SurveyPhase.COLLECTION and not survey.questions.exists():
        raise ValidationError({"to_phase": _("Add at least one question before collecting.")})
    change = SurveyPhaseChange.objects.create(
        survey=survey, from_phase=survey.phase, to_phase=to_phase, actor=actor, note=note[:300]
    )
    survey.phase = to_phase
    survey.save(update_fields=["phase", "updated_at"])
    given.phase, given.updated_at = survey.phase, survey.updated_at  # the caller's copy too
    return change


# --- Questions ---------------------------------------------------------------------------------


def _editable(survey: Survey) -> None:
    if not survey.questions_editable:
        raise ValidationError(_("Questions can change only in the definition and design phases."))


def _validate_question(question: Question) -> None:
    errors = {}
    if question.kind in CHOICE_KINDS and len(question.options("de")) < 2:
        errors["options_de"] = _("Give at least two options, one per line.")
    if question.kind in CHOICE_KINDS and len(question.options("en")) < 2:
        errors["options_en"] = _("Give at least two options, one per line.")
    if question.kind == QuestionKind.SCALE:
        for lang in ("de", "en"):
            raw = getattr(question, f"options_{lang}")
            if raw.strip() and len(question.options(lang)) != 5:
                errors[f"options_{lang}"] = _("A 1–5 scale has five labels, one per line.")
    if question.loyalty_factor and question.kind not in (QuestionKind.NPS, QuestionKind.SCALE):
        errors["loyalty_factor"] = _("A loyalty factor needs a 0–10 or 1–5 question.")
    if errors:
        raise ValidationError(errors)
    question.full_clean(exclude=["survey"])


@transaction.atomic
def question_add(*, actor: User | None, survey: Survey, **fields: Any) -> Question:
    """Append a question to the questionnaire."""
    _require(actor, "feedback.manage_survey", survey)
    _editable(survey)
    _refuse_unknown(fields, QUESTION_FIELDS)
    last = survey.questions.order_by("-position").values_list("position", flat=True).first()
    question = Question(survey=survey, position=(last or 0) + 1, **fields)
    _validate_question(question)
    question.save()
    return question


@transaction.atomic
def question_update(*, actor: User | None, question: Question, **fields: Any) -> Question:
    _require(actor, "feedback.manage_survey", question.survey)
    _editable(question.survey)
    _refuse_unknown(fields, QUESTION_FIELDS)
    for name, value in fields.items():
        setattr(question, name, value)
    _validate_question(question)
    question.save()
    return question


@transaction.atomic
def question_delete(*, actor: User | None, question: Question) -> None:
    _require(actor, "feedback.manage_survey", question.survey)
    _editable(question.survey)
    question.delete()


@transaction.atomic
def questions_reorder(*, actor: User | None, survey: Survey, order: Iterable[int]) -> None:
    """Number the survey's questions in the given order of ids (all of them, each once)."""
    _require(actor, "feedback.manage_survey", survey)
    _editable(survey)
    order = list(order)
    questions = {q.pk: q for q in survey.questions.all()}
    if sorted(order) != sorted(questions):
        raise ValidationError({"order": _("Name every question of the survey once.")})
    for position, pk in enumerate(order, start=1):
        questions[pk].position = position
    Question.objects.bulk_update(questions.values(), ["position"])


@transaction.atomic
def question_move(*, actor: User | None, question: Question, step: int) -> None:
    """Move a question one place up (step −1) or down (+1)."""
    order = list(question.survey.questions.values_list("pk", flat=True))
    index = order.index(question.pk)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
    questions_reorder(actor=actor, survey=question.survey, order=order)


# --- Target group and invitations -------------------------------------------------------------


def target_parties(*, survey: Survey, user: User):
    """The parties of the survey's target group that the user may see: its segment's members
    (first, when it has one), else a saved view's filters or the survey's own party-list
    filters, read as the party list reads them."""
    if survey.target_segment_id:
        return segment_parties(survey.target_segment, user=user)
    query = survey.target_view.query if survey.target_view_id else survey.target_query
    params = list_params(QueryDict(query or ""))
    params["custom"] = None  # custom-field filters need the list's form; not part of a target
    return party_list_for_user(user=user, **params)


def contact_language(party: Party, default: str) -> str:
    """The language of a contact's mail: German for an address in DE/AT/CH/LI, English for any
    other country, the survey's language without an address."""
    countries = [a.country for a in party.addresses.all()]
    if not countries:
        return default
    return "de" if countries[0].upper() in GERMAN_COUNTRIES else "en"


def _primary_email(party: Party) -> str:
    emails = [c for c in party.contact_points.all() if c.kind == ContactKind.EMAIL]
    emails.sort(key=lambda c: not c.is_primary)
    return emails[0].value if emails else ""


def answer_url(base_url: str, raw_token: str) -> str:
    return urljoin(base_url, reverse("feedback:answer", args=[raw_token]))


def _send(invitation: Invitation, raw_token: str, base_url: str, *, reminder: bool) -> None:
    with translation.override(invitation.language):
        context = {
            "survey": invitation.survey,
            "party": invitation.party,
            "url": answer_url(base_url, raw_token),
            "expires_at": invitation.expires_at,
            "reminder": reminder,
        }
        subject = render_to_string("feedback/email/invitation_subject.txt", context).strip()
        body = render_to_string("feedback/email/invitation.txt", context)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email]).send()


@dataclass
class InviteResult:
    invited: int
    without_email: int
    already_invited: int


def _require_collecting_online(survey: Survey) -> None:
    if survey.phase != SurveyPhase.COLLECTION:
        raise ValidationError(_("Invitations go out in the collection phase."))
    if survey.method != SurveyMethod.ONLINE:
        raise ValidationError(_("Only an online survey sends personal links."))


@transaction.atomic
def survey_invite(
    *,
    actor: User,
    survey: Survey,
    base_url: str,
    now: datetime | None = None,
    deliver: bool = True,
    progress: Callable[[int], None] | None = None,
) -> InviteResult:
    """Invite every party of the target group not yet invited: one personal link each, by
    e-mail in the contact's language (sent once the transaction commits). ``deliver=False``
    (demo data) records the invitations and sends nothing. ``progress`` hears the number of
    parties gone through, every 500."""
    _require(actor, "feedback.manage_survey", survey)
    _require_collecting_online(survey)
    now = now or timezone.now()
    invited = set(survey.invitations.values_list("party_id", flat=True))
    parties = target_parties(survey=survey, user=actor).prefetch_related("addresses").order_by("pk")
    outbox: list[tuple[Invitation, str]] = []
    without_email = already = 0
    for seen, party in enumerate(parties.iterator(chunk_size=500), start=1):
        if progress is not None and seen % 500 == 0:
            progress(seen)
        if party.pk in invited:
            already += 1
            continue
        email = _primary_email(party)
        if not email:
            without_email += 1
            continue
        raw = secrets.token_urlsafe(32)
        invitation = Invitation(
            survey=survey,
            party=party,
            email=email,
            language=contact_language(party, survey.language),
            token_hash=hash_token(raw),
            sent_at=now,
            expires_at=now + timedelta(days=survey.link_valid_days),
        )
        outbox.append((invitation, raw))
    Invitation.objects.bulk_create([inv for inv, _raw in outbox], batch_size=500)

    def send_all() -> None:
        for invitation, raw in outbox:
            _send(invitation, raw, base_url, reminder=False)

    if deliver:
        transaction.on_commit(send_all)
    return InviteResult(len(outbox), without_email, already)


@transaction.atomic
def survey_remind(
    *, actor: User, survey: Survey, base_url: str, now: datetime | None = None
) -> int:
    """Remind those who have not answered (once each, while their link is valid). Only the
    token's hash is kept, so a reminder carries a new link; the old one stops working."""
    _require(actor, "feedback.manage_survey", survey)
    _require_collecting_online(survey)
    now = now or timezone.now()
    pending = list(
        survey.invitations.select_related("survey", "party").filter(
            answered_at__isnull=True, reminded_at__isnull=True, expires_at__gt=now
        )
    )
    outbox = []
    for invitation in pending:
        raw = secrets.token_urlsafe(32)
        invitation.token_hash = hash_token(raw)
        invitation.reminded_at = now
        outbox.append((invitation, raw))
    Invitation.objects.bulk_update(pending, ["token_hash", "reminded_at"], batch_size=500)

    def send_all() -> None:
        for invitation, raw in outbox:
            _send(invitation, raw, base_url, reminder=True)

    transaction.on_commit(send_all)
    return len(outbox)


class TokenState:
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    CLOSED = "closed"


def invitation_for_token(raw: str, *, now: datetime | None = None) -> tuple[Invitation | None, str]:
    """The invitation of a personal link and whether it can still be answered."""
    now = now or timezone.now()
    if not raw or len(raw) > 100:
        return None, TokenState.UNKNOWN
    invitation = (
        Invitation.objects.select_related("survey", "party")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if invitation is None:
        return None, TokenState.UNKNOWN
    if invitation.answered_at is not None:
        return invitation, TokenState.USED
    if invitation.expires_at <= now:
        return invitation, TokenState.EXPIRED
    if invitation.survey.phase != SurveyPhase.COLLECTION:
        return invitation, TokenState.CLOSED
    return invitation, TokenState.VALID


# --- Answers -----------------------------------------------------------------------------------


def answers_from_post(questions: Iterable[Question], data: QueryDict) -> dict[int, dict]:
    """A form's fields (``q<id>``, ``q<id>_soll``/``q<id>_ist``, ``q<id>`` repeated for
    multiple choice) as the raw answers ``answers_clean`` checks."""
    raw: dict[int, dict] = {}
    for q in questions:
        key = f"q{q.pk}"
        if q.kind == QuestionKind.EXPECTATION:
            raw[q.pk] = {"value": data.get(f"{key}_soll", ""), "value2": data.get(f"{key}_ist", "")}
        elif q.kind == QuestionKind.MULTIPLE:
            raw[q.pk] = {"choices": data.getlist(key)}
        elif q.kind == QuestionKind.TEXT:
            raw[q.pk] = {"text": data.get(key, "")}
        else:
            raw[q.pk] = {"value": data.get(key, "")}
    return raw


def _int_in(value: Any, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError("bad") from None
    if not low <= number <= high:
        raise ValidationError("range")
    return number


def answers_clean(questions: Iterable[Question], raw: Mapping[int, Mapping[str, Any]]) -> list:
    """Checked answers as (question, value, value2, text) rows; errors keyed ``q<id>``."""
    rows: list[tuple[Question, int | None, int | None, str]] = []
    errors: dict[str, str] = {}
    questions = list(questions)
    known = {q.pk for q in questions}
    for pk in raw:
        if pk not in known:
            errors[f"q{pk}"] = _("This question is not part of the survey.")
    for q in questions:
        got = raw.get(q.pk) or {}
        key = f"q{q.pk}"
        try:
            if q.kind == QuestionKind.TEXT:
                text = str(got.get("text") or "").strip()
                if len(text) > 5000:
                    errors[key] = _("At most 5,000 characters.")
                elif text:
                    rows.append((q, None, None, text))
                elif q.required:
                    errors[key] = _("Please answer this question.")
            elif q.kind == QuestionKind.MULTIPLE:
                count = len(q.options("en"))
                chosen = sorted(
                    {_int_in(c, 0, count - 1) for c in got.get("choices") or []} - {None}
                )
                rows.extend((q, c, None, "") for c in chosen)
                if not chosen and q.required:
                    errors[key] = _("Please choose at least one option.")
            elif q.kind == QuestionKind.EXPECTATION:
                soll = _int_in(got.get("value"), 1, 5)
                ist = _int_in(got.get("value2"), 1, 5)
                if soll is not None and ist is not None:
                    rows.append((q, soll, ist, ""))
                elif soll is not None or ist is not None or q.required:
                    errors[key] = _("Rate both what you expected and what you got.")
            else:
                high = {
                    QuestionKind.NPS: (0, 10),
                    QuestionKind.SCALE: (1, 5),
                    QuestionKind.SINGLE: (0, len(q.options("en")) - 1),
                }[q.kind]
                value = _int_in(got.get("value"), *high)
                if value is not None:
                    rows.append((q, value, None, ""))
                elif q.required:
                    errors[key] = _("Please answer this question.")
        except ValidationError:
            errors[key] = _("This answer is not one of the choices.")
    if errors:
        raise ValidationError(errors)
    return rows


def _record(
    *,
    survey: Survey,
    party: Party | None,
    channel: str,
    language: str,
    entered_by: User | None,
    rows: list,
) -> Response:
    questions = list(survey.questions.all())
    values: dict[int, list[int]] = {}
    for q, value, _value2, _text in rows:
        if value is not None:
            values.setdefault(q.pk, []).append(value)
    scores = analysis.respondent_scores(questions, values)
    # A party deleted since it was invited keeps no new data: its answer counts unnamed.
    alive = party is not None and party.deleted_at is None
    stored_party = party if alive and not survey.anonymous else None
    response = Response.objects.create(
        survey=survey,
        party=stored_party,
        channel=channel,
        language=language,
        entered_by=entered_by,
        nps=scores["nps"],
        abc_class=stored_party.abc_class if stored_party else "",
        lifecycle_phase=stored_party.lifecycle_phase if stored_party else "",
        segment=stored_party.rfm_segment if stored_party else "",
        scale_answers=scores["scale_answers"],
        satisfied_answers=scores["satisfied_answers"],
        **{f"loyalty_{factor}": score for factor, score in scores["factors"].items()},
    )
    Answer.objects.bulk_create(
        [Answer(response=response, question=q, value=v, value2=v2, text=t) for q, v, v2, t in rows]
    )
    if stored_party is not None:
        _store_on_party(stored_party, scores, response)
        _timeline_entry(stored_party, survey, response, scores, entered_by)
    return response


def _store_on_party(party: Party, scores: dict, response: Response) -> None:
    """The last answer's scores on the party; a score the survey did not ask stays as it was."""
    update: dict[str, Any] = {"last_survey_answered_at": response.created_at}
    for field, key in (("last_nps", "nps"), ("last_csat", "csat"), ("last_loyalty", "loyalty")):
        if scores[key] is not None:
            update[field] = scores[key]
    # A plain UPDATE: the scores are figures, kept out of the party's edit history.
    Party.objects.filter(pk=party.pk).update(**update)


def _timeline_entry(
    party: Party, survey: Survey, response: Response, scores: dict, entered_by: User | None
) -> None:
    parts = [escape(str(ResponseChannel(response.channel).label))]
    if scores["nps"] is not None:
        parts.append(f"NPS {scores['nps']}")
    if scores["csat"] is not None:
        parts.append(f"CSAT {scores['csat']:.1f}")
    if scores["loyalty"] is not None:
        parts.append(_("loyalty %(value).0f") % {"value": scores["loyalty"]})
    url = reverse("feedback:response", args=[survey.pk, response.pk])
    body = f'<p>{" · ".join(parts)}</p><p><a href="{url}">{escape(_("Show the answers"))}</a></p>'
    activity_create(
        actor=None,
        kind=ActivityKind.NOTE,
        party=party,
        owner=entered_by or party.owner,
        team=party.team,
        subject=_("Survey answered: %(name)s") % {"name": survey.name[:150]},
        body=body,
        occurred_at=response.created_at,
    )


@transaction.atomic
def response_submit_online(
    *, raw_token: str, raw_answers: Mapping[int, Mapping[str, Any]], now: datetime | None = None
) -> Response:
    """Answer through a personal link: once, before it expires, while the survey collects."""
    now = now or timezone.now()
    invitation, state = invitation_for_token(raw_token, now=now)
    if state != TokenState.VALID or invitation is None:
        raise ValidationError(_("This link cannot be used (any more)."), code=state)
    survey = invitation.survey
    rows = answers_clean(survey.questions.all(), raw_answers)
    # Single use even under a double submit: only the first UPDATE finds the link unused.
    claimed = Invitation.objects.filter(pk=invitation.pk, answered_at__isnull=True).update(
        answered_at=now
    )
    if not claimed:
        raise ValidationError(_("This link cannot be used (any more)."), code=TokenState.USED)
    return _record(
        survey=survey,
        party=invitation.party,
        channel=ResponseChannel.ONLINE,
        language=invitation.language,
        entered_by=None,
        rows=rows,
    )


@transaction.atomic
def response_enter(
    *,
    actor: User,
    survey: Survey,
    party: Party | None,
    channel: str,
    raw_answers: Mapping[int, Mapping[str, Any]],
    language: str = "",
) -> Response:
    """Staff entry of an answer taken in person, by phone or in writing."""
    _require(actor, "feedback.enter_answers", survey)
    if survey.phase != SurveyPhase.COLLECTION:
        raise ValidationError(_("Answers are entered in the collection phase."))
    if channel not in (ResponseChannel.PERSONAL, ResponseChannel.PHONE, ResponseChannel.WRITTEN):
        raise ValidationError({"channel": _("Choose personal, phone or written.")})
    if party is not None and (
        party.deleted_at is not None or not actor.has_perm("core.view_record", party)
    ):
        raise ValidationError({"party_id": _("No such party, or you may not see it.")})
    if party is None and not survey.anonymous:
        raise ValidationError({"party_id": _("Choose the customer who answered.")})
    rows = answers_clean(survey.questions.all(), raw_answers)
    if party is not None and not survey.anonymous:
        invitation = survey.invitations.filter(party=party, answered_at__isnull=True).first()
        if invitation is not None:  # answered another way: the link is used up
            Invitation.objects.filter(pk=invitation.pk).update(answered_at=timezone.now())
    return _record(
        survey=survey,
        party=party,
        channel=channel,
        language=language or survey.language,
        entered_by=actor,
        rows=rows,
    )
