"""Complaint cases (DOMAIN.md §5): the direct process from acceptance to closing.

A complaint is a ``Case`` of a party. It gets a number (``C-<year>-<000123>``) from a counter
per year, an owner at once (``AssignmentRule``s, then round-robin among service agents), and
due dates from the ``SlaPolicy`` of its severity, counted in business hours. Its status follows
one flow (``kreis.service.services.TRANSITIONS``); every move is a ``CaseTransition`` row. While
it waits for the customer the SLA clock stands still: the pause is added to the due dates when
the customer answers. ``CaseMessage``s are internal notes (staff only, never shown to the
customer) or replies to and messages from the customer.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.activities.models import Activity
from kreis.commerce.models import Product
from kreis.core.models import Competency, Level, Team
from kreis.parties.models import Party

# The federal states of Germany (ISO 3166-2:DE) as the ``holidays`` package names them.
BUNDESLAENDER = [
    ("BB", "Brandenburg"),
    ("BE", "Berlin"),
    ("BW", "Baden-Württemberg"),
    ("BY", "Bayern"),
    ("HB", "Bremen"),
    ("HE", "Hessen"),
    ("HH", "Hamburg"),
    ("MV", "Mecklenburg-Vorpommern"),
    ("NI", "Niedersachsen"),
    ("NW", "Nordrhein-Westfalen"),
    ("RP", "Rheinland-Pfalz"),
    ("SH", "Schleswig-Holstein"),
    ("SL", "Saarland"),
    ("SN", "Sachsen"),
    ("ST", "Sachsen-Anhalt"),
    ("TH", "Thüringen"),
]


class Channel(models.TextChoices):
    FORM = "form", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    PERSONAL = "personal", _("In person")
    API = "api", _("API")
    LETTER = "letter", _("Letter")
    SOCIAL = "social", _("Social media")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


# Severities that make an open case an Endangerment signal of the lifecycle.
SEVERE = (Severity.HIGH, Severity.CRITICAL)


class CaseStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses of a case that is still being worked on.
OPEN_STATUSES = (
    CaseStatus.RECEIVED,
    CaseStatus.ACKNOWLEDGED,
    CaseStatus.IN_PROGRESS,
    CaseStatus.SOLUTION_PROPOSED,
)


class CategoryKind(models.TextChoices):
    DEFECT = "defect", _("Product defect")
    WARRANTY = "warranty", _("Warranty")
    DELIVERY = "delivery", _("Delivery")
    BILLING = "billing", _("Billing")
    SERVICE = "service", _("Service")
    OTHER = "other", _("Other")


class _Bilingual(models.Model):
    """A configuration entry named in German and English; shown in the user's language."""

    name_de = models.CharField(_("name (German)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_de if (get_language() or "").startswith("de") else self.name_en


class CaseCategory(_Bilingual):
    kind = models.CharField(
        _("kind"), max_length=12, choices=CategoryKind.choices, default=CategoryKind.OTHER
    )

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["name_en", "pk"]


class RootCause(_Bilingual):
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")
        ordering = ["name_en", "pk"]


class SlaPolicy(models.Model):
    """Time to acknowledge and to resolve for one severity, in business hours: the hours
    between ``day_start`` and ``day_end`` on ``weekdays``, except German public holidays
    (nationwide, plus those of ``state`` when one is set)."""

    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, unique=True)
    hours_to_acknowledge = models.PositiveIntegerField(
        _("hours to acknowledge"), validators=[MinValueValidator(1)]
    )
    hours_to_resolve = models.PositiveIntegerField(
        _("hours to resolve"), validators=[MinValueValidator(1)]
    )
    day_start = models.TimeField(_("business day starts"), default="08:00")
    day_end = models.TimeField(_("business day ends"), default="17:00")
    weekdays = models.CharField(
        _("business days"),
        max_length=7,
        default="12345",
        help_text=_("ISO weekday numbers, 1 = Monday … 7 = Sunday, e.g. 12345."),
    )
    state = models.CharField(
        _("federal state"),
        max_length=2,
        choices=BUNDESLAENDER,
        blank=True,
        help_text=_("Its public holidays count too; empty: nationwide holidays only."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["severity"]

    def __str__(self) -> str:
        ack, resolve = self.hours_to_acknowledge, self.hours_to_resolve
        return f"{self.get_severity_display()}: {ack} h / {resolve} h"

    def clean(self) -> None:
        errors = {}
        # Times as strings are what clean_fields could not convert (its own error is given).
        times = isinstance(self.day_start, dt.time) and isinstance(self.day_end, dt.time)
        if times and self.day_start >= self.day_end:
            errors["day_end"] = _("The business day must end after it starts.")
        days = self.weekdays or ""
        if not days or any(d not in "1234567" for d in days) or len(set(days)) != len(days):
            errors["weekdays"] = _(
                "Give each business day once as a digit from 1 (Monday) to 7 (Sunday), e.g. 12345."
            )
        ack, resolve = self.hours_to_acknowledge, self.hours_to_resolve
        if isinstance(ack, int) and isinstance(resolve, int) and ack > resolve:
            errors["hours_to_acknowledge"] = _("Acknowledging cannot take longer than resolving.")
        if not errors and times and isinstance(resolve, int):
            start = self.day_start.hour * 60 + self.day_start.minute
            per_week = (self.day_end.hour * 60 + self.day_end.minute - start) * len(days) / 60
            if per_week > 0 and resolve / per_week * 7 > 5 * 365:
                errors["hours_to_resolve"] = _(
                    "With these business hours resolving would take more than five years."
                )
        if errors:
            raise ValidationError(errors)


class AssignmentRule(models.Model):
    """The first active rule (by ``position``) whose category, product and region match a new
    case gives it its owner: the named user, or round-robin among the team's service agents.
    A blank criterion matches anything."""

    position = models.PositiveIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=120)
    category = models.ForeignKey(
        CaseCategory, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("category")
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("product")
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    assign_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to user"),
    )
    assign_team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assign to team"),
    )
    required_competencies = models.ManyToManyField(
        Competency,
        blank=True,
        related_name="+",
        verbose_name=_("required competencies"),
        help_text=_(
            "Only users who have every one of these at the level below or higher are picked."
        ),
    )
    competency_level = models.PositiveSmallIntegerField(
        _("at least at level"), choices=Level.choices, default=Level.GOOD
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(assign_user__isnull=False) | models.Q(assign_team__isnull=False),
                name="service_rule_assigns_someone",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.assign_user_id is None and self.assign_team_id is None:
            raise ValidationError(
                {"assign_user": _("A rule assigns to a user or a team: choose at least one.")}
            )


def case_number_code(number: str) -> int:
    """ "C-2026-000123" as one integer (2026000000123), for numeric columns such as the
    lifecycle's facts; ``case_number_from_code`` turns it back."""
    _prefix, year, sequence = number.split("-")
    return int(year) * CODE_FACTOR + int(sequence)


def case_number_from_code(code: int) -> str:
    return f"C-{code // CODE_FACTOR}-{code % CODE_FACTOR:06d}"


CODE_FACTOR = 10**9


class CaseCounter(models.Model):
    """The last case number given in a year (incremented with an UPDATE: safe under
    concurrency on SQLite and PostgreSQL)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case counter")
        verbose_name_plural = _("case counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Case(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="cases", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_cases",
        verbose_name=_("contact person"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.ForeignKey(
        CaseCategory, on_delete=models.PROTECT, related_name="cases", verbose_name=_("category")
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("product"),
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(
        _("customer's language"), max_length=5, choices=settings.LANGUAGES, default="de"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.RECEIVED
    )
    waiting_for_customer = models.BooleanField(_("waiting for the customer"), default=False)
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(
        _("paused time (seconds)"),
        default=0,
        help_text=_("Time spent waiting for the customer; the SLA clock stood still."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_cases",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("team"),
    )
    root_cause = models.ForeignKey(
        RootCause,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("root cause"),
    )
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "severity"], name="case_status_severity"),
            models.Index(fields=["owner", "team"], name="case_owner_team"),
            models.Index(fields=["party", "status"], name="case_party_status"),
            # The case list sorted by due date (``queries.ORDERINGS["due"]``).
            models.Index(fields=["resolve_due_at", "id"], name="case_resolve_due"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def paused_hours(self) -> float:
        return round(self.paused_seconds / 3600, 1)

    def due_at(self):
        """The next SLA deadline: acknowledge while not acknowledged, then resolve."""
        if not self.is_open:
            return None
        if self.acknowledged_at is None:
            return self.ack_due_at
        return self.resolve_due_at

    def is_overdue(self, now=None) -> bool:
        from django.utils import timezone

        due = self.due_at()
        return bool(due and not self.waiting_for_customer and due < (now or timezone.now()))


class TransitionEvent(models.TextChoices):
    RECEIVED = "received", _("Case received")
    STATUS = "status", _("Status changed")
    WAIT = "wait", _("Waiting for the customer")
    RESUME = "resume", _("No longer waiting for the customer")


class CaseTransition(models.Model):
    """One entry of the case's flow: a status change (who, when, from, to, why), its receipt,
    or the start or end of a wait for the customer (status unchanged)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    event = models.CharField(
        _("event"), max_length=10, choices=TransitionEvent.choices, default=TransitionEvent.STATUS
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    from_status = models.CharField(_("from"), max_length=20, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=CaseStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("case transition")
        verbose_name_plural = _("case transitions")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_status or '—'} → {self.to_status}"


class MessageKind(models.TextChoices):
    INTERNAL_NOTE = "internal_note", _("Internal note")
    CUSTOMER_REPLY = "customer_reply", _("Reply to the customer")
    CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")


# The kinds a customer may ever see (internal notes never).
CUSTOMER_VISIBLE = (MessageKind.CUSTOMER_REPLY, MessageKind.CUSTOMER_MESSAGE)


class CaseMessage(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("text"))
    # The Message-ID of the e-mail it came in as (complaint mailbox): a mail is taken once.
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("case message")
        verbose_name_plural = _("case messages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.INTERNAL_NOTE


# --- Issue 12, second part: the rest of the direct process and the indirect process ----------


class ServiceSettings(models.Model):
    """One row (pk 1): how complaint intake and processing behave. Edited by administrators;
    ``ServiceSettings.load()`` gives the row, created with the defaults on first use."""

    form_enabled = models.BooleanField(
        _("public complaint form enabled"),
        default=True,
        help_text=_("The form at /complaint/ that customers fill in, on its own or embedded."),
    )
    form_allowed_origins = models.TextField(
        _("websites that may embed the form"),
        blank=True,
        help_text=_(
            "One origin per line, e.g. https://www.example.com; empty: the form can only be "
            "shown on Kreis itself."
        ),
    )
    form_category = models.ForeignKey(
        CaseCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category of form complaints"),
        help_text=_("Used when the visitor picks none; empty: the first active category."),
    )
    form_min_seconds = models.PositiveSmallIntegerField(
        _("minimum seconds before a form is sent"),
        default=3,
        help_text=_("Faster submissions are treated as spam (time trap)."),
    )
    form_posts_per_hour = models.PositiveSmallIntegerField(
        _("form submissions per IP address and hour"),
        default=10,
        validators=[MinValueValidator(1)],
    )
    hourly_rate = models.DecimalField(
        _("hourly rate for handling time"),
        max_digits=8,
        decimal_places=2,
        default=60,
        validators=[MinValueValidator(0)],
        help_text=_("Handling hours × this rate is a case's handling cost (CM III)."),
    )
    rating_link_days = models.PositiveSmallIntegerField(
        _("days the rating link stays valid"), default=30, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("complaint settings")
        verbose_name_plural = _("complaint settings")

    def __str__(self) -> str:
        return str(_("Complaint settings"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> ServiceSettings:
        return cls.objects.get_or_create(pk=1)[0]

    def allowed_origins(self) -> list[str]:
        return [
            line.strip().rstrip("/")
            for line in self.form_allowed_origins.splitlines()
            if line.strip()
        ]


class RatingToken(models.Model):
    """The link in the closing e-mail through which the customer rates the resolution: only the
    SHA-256 of the 256-bit token is stored; it works once and until ``expires_at``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="rating_tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating link")
        verbose_name_plural = _("rating links")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"


class CaseRating(models.Model):
    """The customer's rating of a case's resolution, 1 (very poor) to 5 (very good). A rating
    of 1 or 2 is an Endangerment signal of the lifecycle."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="ratings")
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("rated"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("resolution rating")
        verbose_name_plural = _("resolution ratings")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="service_rating_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.rating}"


class CaseTask(models.Model):
    """A task (an activity of kind task) that hangs on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="task_links")
    activity = models.OneToOneField(
        Activity, on_delete=models.CASCADE, related_name="case_link", verbose_name=_("task")
    )

    class Meta:
        verbose_name = _("case task")
        verbose_name_plural = _("case tasks")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.activity_id}"


class SupplierRequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the supplier")
    ANSWERED = "answered", _("Answered")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SupplierRequest(models.Model):
    """A case passed to a supplier (a party with the supplier role) and the supplier's answer."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supplier_requests")
    supplier = models.ForeignKey(
        Party,
        on_delete=models.PROTECT,
        related_name="supplier_requests",
        verbose_name=_("supplier"),
    )
    message = models.TextField(_("message to the supplier"))
    sent_to = models.EmailField(_("sent to"), blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SupplierRequestStatus.choices,
        default=SupplierRequestStatus.OPEN,
    )
    answer = models.TextField(_("supplier's answer"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answer_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answer recorded by"),
    )

    class Meta:
        verbose_name = _("supplier request")
        verbose_name_plural = _("supplier requests")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.supplier_id}"


class CostKind(models.TextChoices):
    GOODWILL = "goodwill", _("Goodwill")
    REPLACEMENT = "replacement", _("Replacement")
    HANDLING = "handling", _("Handling time")


class CaseCost(models.Model):
    """A cost of a case. Goodwill and replacement are amounts; handling is hours × the hourly
    rate of the day it was entered. Each becomes the customer's CM III cost entry
    (``cost_entry``, category complaint), kept in step when the cost changes or goes."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="costs")
    kind = models.CharField(_("kind"), max_length=12, choices=CostKind.choices)
    date = models.DateField(_("date"))
    hours = models.DecimalField(
        _("hours"),
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    hourly_rate = models.DecimalField(
        _("hourly rate"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    cost_entry = models.OneToOneField(
        "analytics.CostEntry",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="case_cost",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("case cost")
        verbose_name_plural = _("case costs")
        ordering = ["date", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.amount}"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ImprovementAction(models.Model):
    """Information usage (DOMAIN.md §5): a measure against a root cause. Its effect is shown as
    the cases of that root cause in equal periods before and after ``effective_on``."""

    root_cause = models.ForeignKey(
        RootCause, on_delete=models.PROTECT, related_name="actions", verbose_name=_("root cause")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="improvement_actions",
        verbose_name=_("owner"),
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.PLANNED
    )
    effective_on = models.DateField(
        _("effective from"),
        null=True,
        blank=True,
        help_text=_("The day the measure took effect; set when it is done, if empty."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["status", "due_date", "pk"]

    def __str__(self) -> str:
        return self.title


class ReportFrequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class ReportSubscription(models.Model):
    """A user who gets the complaint report as PDF by e-mail, weekly or monthly."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="complaint_report_subscriptions",
        verbose_name=_("user"),
    )
    frequency = models.CharField(_("frequency"), max_length=8, choices=ReportFrequency.choices)
    is_active = models.BooleanField(_("active"), default=True)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("complaint report subscription")
        verbose_name_plural = _("complaint report subscriptions")
        ordering = ["user", "frequency"]
        constraints = [
            models.UniqueConstraint(fields=["user", "frequency"], name="service_report_sub_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.frequency})"


class ComplaintReport(models.Model):
    """A complaint report as sent: its period and the PDF, archived."""

    frequency = models.CharField(_("frequency"), max_length=8, choices=ReportFrequency.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    pdf = models.BinaryField(_("PDF"), editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_to = models.PositiveIntegerField(_("sent to (subscribers)"), default=0)

    class Meta:
        verbose_name = _("complaint report")
        verbose_name_plural = _("complaint reports")
        ordering = ["-period_end", "-pk"]

    def __str__(self) -> str:
        return f"{self.frequency} {self.period_start}–{self.period_end}"


class ComplaintMailbox(models.Model):
    """An IMAP mailbox polled for complaints: a new mail opens a case, a mail whose subject
    names a case number adds to that case. The password is stored encrypted
    (``kreis.core.crypto``) and never shown back."""

    name = models.CharField(_("name"), max_length=120)
    host = models.CharField(_("IMAP server"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("connection security"),
        max_length=8,
        choices=[("ssl", "SSL/TLS"), ("starttls", "STARTTLS"), ("none", _("none (loopback only)"))],
        default="ssl",
    )
    username = models.CharField(_("user name"), max_length=255)
    password_encrypted = models.TextField(editable=False, blank=True)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_folder = models.CharField(
        _("move processed mail to"),
        max_length=255,
        blank=True,
        help_text=_("Empty: processed mail is flagged as seen and stays in the folder."),
    )
    category = models.ForeignKey(
        CaseCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category of new cases"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        verbose_name = _("complaint mailbox")
        verbose_name_plural = _("complaint mailboxes")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class MailTemplate(models.Model):
    """An administrator's wording of one customer e-mail (acknowledgement, reply, closing with
    the rating link, supplier request …) in one language. Subject and body are Django
    templates over ``case`` (and the mail's extras, e.g. ``rating_url``); without an active
    row the wording shipped with Kreis is used."""

    key = models.CharField(_("e-mail"), max_length=40)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["key", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "language"], name="service_mailtemplate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"

    def clean(self) -> None:
        # Unknown keys, syntax errors and tags that could read other templates or settings.
        from kreis.service.mailtemplates import validate_template

        validate_template(key=self.key, subject=self.subject, body=self.body)
