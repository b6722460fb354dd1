"""Surveys (DOMAIN.md §3): five phases, questions of six kinds, invitations, responses, answers.

A survey moves through definition → design → collection → analysis → documentation; each move
is a ``SurveyPhaseChange`` row. Answers are one row per question and response (per chosen
option for multiple choice), narrow and indexed by question and value, so that the analysis
(``kreis.feedback.analysis``) is a handful of SQL aggregates however many answers there are.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.core import tokens
from kreis.core.models import SavedView, Team
from kreis.parties.models import Party


class SurveyPhase(models.TextChoices):
    DEFINITION = "definition", _("Definition")
    DESIGN = "design", _("Design")
    COLLECTION = "collection", _("Collection")
    ANALYSIS = "analysis", _("Analysis")
    DOCUMENTATION = "documentation", _("Documentation")


PHASE_ORDER: list[str] = list(SurveyPhase.values)
# Questions may change only while the questionnaire is being written.
EDITABLE_PHASES = {SurveyPhase.DEFINITION, SurveyPhase.DESIGN}


class SurveyMethod(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    PHONE = "phone", _("Phone")
    WRITTEN = "written", _("Written")
    ONLINE = "online", _("Online")


class Survey(models.Model):
    name = models.CharField(_("name"), max_length=200)
    goals = models.TextField(_("goals"), blank=True)
    core_questions = models.TextField(_("core questions"), blank=True)
    phase = models.CharField(
        _("phase"), max_length=14, choices=SurveyPhase.choices, default=SurveyPhase.DEFINITION
    )
    method = models.CharField(
        _("method"), max_length=10, choices=SurveyMethod.choices, default=SurveyMethod.ONLINE
    )
    anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Answers are stored without the customer: no party, no customer figures."),
    )
    language = models.CharField(
        _("default language"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="de",
        help_text=_("For contacts whose language Kreis cannot tell from their address."),
    )
    # The target group: a saved view of the party list, or the party list's own filters as
    # its query string (``kind=person&abc_class=A``), read by ``kreis.parties.exports``.
    target_view = models.ForeignKey(
        SavedView,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("saved view"),
    )
    target_segment = models.ForeignKey(
        "marketing.Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("segment"),
    )
    target_query = models.CharField(
        _("party list filters"),
        max_length=1000,
        blank=True,
        help_text=_("The party list's filters as in its address, e.g. kind=person&abc_class=A."),
    )
    link_valid_days = models.PositiveSmallIntegerField(
        _("link valid (days)"), default=30, help_text=_("How long a personal link can be used.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_surveys",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def questions_editable(self) -> bool:
        return self.phase in EDITABLE_PHASES

    @property
    def phase_index(self) -> int:
        return PHASE_ORDER.index(self.phase)


class SurveyPhaseChange(models.Model):
    """One move of a survey between phases: who, when, from, to, why."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="phase_changes")
    from_phase = models.CharField(_("from"), max_length=14, choices=SurveyPhase.choices)
    to_phase = models.CharField(_("to"), max_length=14, choices=SurveyPhase.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey phase change")
        verbose_name_plural = _("survey phase changes")
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.survey}: {self.from_phase} → {self.to_phase}"


class QuestionKind(models.TextChoices):
    NPS = "nps_0_10", _("Recommendation 0–10 (NPS)")
    SCALE = "scale_1_5", _("Scale 1–5")
    EXPECTATION = "expectation_performance", _("Expectation vs. performance (1–5 each)")
    SINGLE = "single_choice", _("Single choice")
    MULTIPLE = "multiple_choice", _("Multiple choice")
    TEXT = "free_text", _("Free text")


CHOICE_KINDS = {QuestionKind.SINGLE, QuestionKind.MULTIPLE}


class BenefitDimension(models.TextChoices):
    """DOMAIN.md §3: the three sources of customer benefit."""

    PRODUCT_QUALITY = "product_quality", _("Product quality")
    PROCESS_SERVICE = "process_service", _("Process service")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")


class LoyaltyFactor(models.TextChoices):
    """DOMAIN.md §3: the four factors of the loyalty index; switching is reverse-scored."""

    RECOMMEND = "recommend", _("Willingness to recommend")
    REPURCHASE = "repurchase", _("Repurchase intention")
    COMPARISON = "comparison", _("Impression compared with other providers")
    SWITCHING = "switching", _("Willingness to switch (reverse-scored)")


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=24, choices=QuestionKind.choices)
    text_de = models.CharField(_("question (German)"), max_length=500)
    text_en = models.CharField(_("question (English)"), max_length=500)
    # One line per option (choices) or per scale point 1–5 (scale labels), in each language.
    options_de = models.TextField(
        _("options or scale labels (German)"),
        blank=True,
        help_text=_("One per line: the choices, or the five labels of a 1–5 scale."),
    )
    options_en = models.TextField(_("options or scale labels (English)"), blank=True)
    required = models.BooleanField(_("answer required"), default=True)
    dimension = models.CharField(
        _("benefit dimension"), max_length=20, choices=BenefitDimension.choices, blank=True
    )
    loyalty_factor = models.CharField(
        _("loyalty factor"), max_length=12, choices=LoyaltyFactor.choices, blank=True
    )

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["survey", "position", "pk"]

    def __str__(self) -> str:
        return self.text_en or self.text_de

    def text(self, language: str) -> str:
        return (self.text_de if language == "de" else self.text_en) or self.text_en or self.text_de

    def options(self, language: str) -> list[str]:
        raw = (self.options_de if language == "de" else self.options_en) or self.options_en
        return [line.strip() for line in (raw or self.options_de).splitlines() if line.strip()]


# An invitation's link is a personal link of kreis.core.tokens (256 random bits, SHA-256 kept).
hash_token = tokens.hash_token


class Invitation(models.Model):
    """A contact's personal link to an online survey. Only the token's hash is stored."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="survey_invitations")
    email = models.EmailField(_("e-mail"))
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "party"], name="invitation_unique_party")
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.party}"


class ResponseChannel(models.TextChoices):
    ONLINE = "online", _("Online")
    PERSONAL = "personal", _("Personal")
    PHONE = "phone", _("Phone")
    WRITTEN = "written", _("Written")


class Response(models.Model):
    """One respondent's completed questionnaire.

    ``party`` is empty when the survey is anonymous. The customer's ABC class, lifecycle phase
    and RFM segment at the time of the answer are copied here (not for anonymous answers) for
    the breakdown; ``nps`` repeats the 0–10 answer for the lifecycle run's detractor read.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    party = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
        verbose_name=_("party"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ResponseChannel.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    nps = models.PositiveSmallIntegerField(_("NPS answer"), null=True, blank=True)
    abc_class = models.CharField(_("ABC class"), max_length=1, blank=True)
    lifecycle_phase = models.CharField(_("lifecycle phase"), max_length=14, blank=True)
    segment = models.CharField(_("RFM segment"), max_length=20, blank=True)
    # The respondent's part of the scores, kept per response so that a breakdown is one
    # aggregate over the responses: CSAT's counts (answers of 1-5, of them 4-5) and each
    # loyalty factor's 0-100 score (switching already reversed).
    scale_answers = models.PositiveSmallIntegerField(default=0, editable=False)
    satisfied_answers = models.PositiveSmallIntegerField(default=0, editable=False)
    loyalty_recommend = models.FloatField(null=True, blank=True, editable=False)
    loyalty_repurchase = models.FloatField(null=True, blank=True, editable=False)
    loyalty_comparison = models.FloatField(null=True, blank=True, editable=False)
    loyalty_switching = models.FloatField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("answered"), auto_now_add=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The lifecycle run: each party's last detractor answer.
            models.Index(fields=["party", "nps", "created_at"], name="response_party_nps"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"


class Answer(models.Model):
    """One answer: ``value`` is the 0–10 / 1–5 score, the chosen option's index, or the
    expectation (SOLL) of a pair whose performance (IST) is ``value2``; ``text`` is free text."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    value = models.SmallIntegerField(null=True, blank=True)
    value2 = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        # Covers the analysis' count per question and value (and SOLL/IST pair).
        indexes = [
            models.Index(fields=["question", "value", "value2"], name="answer_question_values")
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.value if self.value is not None else self.text[:40]}"


class SurveyReport(models.Model):
    """The documentation phase's report, archived with the survey (HTML and, when made, PDF)."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="reports")
    html = models.TextField()
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey report")
        verbose_name_plural = _("survey reports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.survey} ({self.created_at:%Y-%m-%d %H:%M})"
