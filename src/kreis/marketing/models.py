"""Lead management (DOMAIN.md §4.1): the seven phases before and at the handoff to sales.

- *Goals, target group, campaign*: a ``Campaign`` has a goal, a target group (a ``Segment`` or
  a description), a channel, a period, a budget and its actual costs (``CampaignCost``).
  ``CampaignMember``s carry their responses as times (sent, opened, clicked, registered,
  attended, responded). Events are campaigns of channel ``event``.
- *Collect data*: ``LeadForm``s (web-to-lead, embeddable) record each ``FormSubmission`` with its
  UTM parameters, referrer and campaign; each submission touches its campaign
  (``CampaignTouch``), from which first- and last-touch attribution follow
  (``LeadAttribution``, ``DealAttribution``).
- *Consent*: a ``Consent`` per party or lead, purpose and channel with its proof (time, IP, user
  agent, the exact ``ConsentText`` version, the confirmation); marketing consent only by double
  opt-in; every change a ``ConsentEvent``.
- *Recognise online behaviour*: ``Visitor``s (a first-party id, only after consent) and their
  ``PageVisit``s, linked to the lead when the visitor identifies through a form.
- *Relevant content*: ``ContentOffer``s (files behind a form) and ``FollowUpRule``s that send
  the next offer when a score or a visit pattern says so (``FollowUpSent``, once per lead).
- *Scoring*: the rule scores of ``kreis.analytics.scoring`` and a predictive model
  (``LeadScoringModel``) trained on converted versus disqualified leads; crossing the MQL
  threshold of ``MarketingSettings`` stamps ``Lead.mql_at``.
- *Handoff*: ``LeadAssignmentRule``s (round-robin, territory, product interest, language,
  workload cap) and a ``LeadHandoff`` per assignment with its first-contact SLA, reminder,
  escalation and recycling.
- *Segments*: dynamic (conditions over party fields, incl. custom and computed ones) or static
  (``SegmentMember``); ``SegmentSnapshot`` keeps the member count over time.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product
from kreis.core.models import Competency, Level, SavedView, Team
from kreis.leads.models import Lead
from kreis.parties.models import Party
from kreis.sales.models import Deal

LANGUAGES = [("de", _("German")), ("en", _("English"))]


def _user_fk(verbose_name, related_name="+", **kwargs):
    """A nullable link to a user that stays when the user goes."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=verbose_name,
        **kwargs,
    )


# --- segments ---------------------------------------------------------------------------------


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic (conditions)")
    STATIC = "static", _("Static list")


class Segment(models.Model):
    """A group of parties: by conditions evaluated live (dynamic) or a fixed list (static).

    ``conditions`` is a list of ``{"field": …, "op": …, "value": …}`` over party fields, custom
    fields (``custom.<key>``) and the computed figures (ABC class, RFM, lifecycle phase, CLV,
    score); ``match`` says whether all or any must hold (``kreis.marketing.segments``)."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC
    )
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    match = models.CharField(
        _("match"),
        max_length=3,
        choices=[("all", _("all conditions")), ("any", _("any condition"))],
        default="all",
    )
    source_view = models.ForeignKey(
        SavedView,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made from saved view"),
    )
    owner = _user_fk(_("owner"), related_name="segments")
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="segments",
        verbose_name=_("team"),
    )
    member_count = models.PositiveIntegerField(_("members"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A party on a static segment's list."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="segment_memberships")
    added_at = models.DateTimeField(_("added"), auto_now_add=True)
    added_by = _user_fk(_("added by"))

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "party"], name="segment_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.party_id}"


class SegmentSnapshot(models.Model):
    """A segment's member count on one day (the nightly count, or the last count of that day)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("members"))

    class Meta:
        verbose_name = _("segment count")
        verbose_name_plural = _("segment counts")
        ordering = ["segment", "day"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="segment_snapshot_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.count}"


# --- campaigns --------------------------------------------------------------------------------


class CampaignChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    EVENT = "event", _("Event")
    WEB = "web", _("Web")
    SOCIAL = "social", _("Social media")
    PRINT = "print", _("Print")
    PARTNER = "partner", _("Partner")


class CampaignStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(
        _("code"),
        max_length=60,
        unique=True,
        help_text=_(
            "Short name in links and UTM parameters (utm_campaign), e.g. spring-fair-2027."
        ),
    )
    goal = models.TextField(_("goal"), blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=CampaignChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.PLANNED
    )
    target_segment = models.ForeignKey(
        Segment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("target group (segment)"),
    )
    target_description = models.TextField(_("target group"), blank=True)
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    budget = models.DecimalField(
        _("budget"),
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    expected_leads = models.PositiveIntegerField(_("expected leads"), null=True, blank=True)
    expected_revenue = models.DecimalField(
        _("expected revenue"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # Events (channel "event"): where and when, and how many places.
    event_starts_at = models.DateTimeField(_("event begins"), null=True, blank=True)
    event_location = models.CharField(_("venue"), max_length=200, blank=True)
    event_capacity = models.PositiveIntegerField(_("places"), null=True, blank=True)
    owner = _user_fk(_("owner"), related_name="campaigns")
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CampaignCostCategory(models.TextChoices):
    MEDIA = "media", _("Media and advertising")
    AGENCY = "agency", _("Agency and services")
    VENUE = "venue", _("Venue and catering")
    PRINT = "print", _("Print and postage")
    STAFF = "staff", _("Staff time")
    OTHER = "other", _("Other")


class CampaignCost(models.Model):
    """An actual cost of a campaign (an invoice, a booking): their sum is the campaign's cost."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="costs")
    date = models.DateField(_("date"))
    category = models.CharField(_("category"), max_length=10, choices=CampaignCostCategory.choices)
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = _user_fk(_("entered by"))
    created_at = models.DateTimeField(_("entered"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign cost")
        verbose_name_plural = _("campaign costs")
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.date}: {self.amount}"


class ResponseKind(models.TextChoices):
    """The responses of a campaign member, in the order a member usually goes through them."""

    SENT = "sent", _("Sent")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    REGISTERED = "registered", _("Registered")
    ATTENDED = "attended", _("Attended")
    RESPONDED = "responded", _("Responded")


class CampaignMember(models.Model):
    """A party or a lead in a campaign, with the time of each response it gave (empty: none)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    party = models.ForeignKey(
        Party,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaign_memberships",
        verbose_name=_("party"),
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="campaign_memberships",
        verbose_name=_("lead"),
    )
    added_at = models.DateTimeField(_("added"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    attended_at = models.DateTimeField(_("attended"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(party__isnull=False) | models.Q(lead__isnull=False),
                name="campaign_member_party_or_lead",
            ),
            models.UniqueConstraint(
                fields=["campaign", "party"],
                condition=models.Q(party__isnull=False),
                name="campaign_member_unique_party",
            ),
            models.UniqueConstraint(
                fields=["campaign", "lead"],
                condition=models.Q(lead__isnull=False),
                name="campaign_member_unique_lead",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.party_id or self.lead_id}"


class TouchKind(models.TextChoices):
    FORM = "form", _("Form submitted")
    EVENT = "event", _("Event registration or attendance")
    CLICK = "click", _("Campaign link (UTM)")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Entered by staff")
    DOWNLOAD = "download", _("Content download")


class CampaignTouch(models.Model):
    """One contact of a lead (or party) with a campaign; attribution is taken from these."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="touches")
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="campaign_touches"
    )
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, null=True, blank=True, related_name="campaign_touches"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TouchKind.choices)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("campaign touch")
        verbose_name_plural = _("campaign touches")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["lead", "at"], name="touch_lead_at"),
            models.Index(fields=["party", "at"], name="touch_party_at"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.at:%Y-%m-%d}"


class LeadAttribution(models.Model):
    """The first and the last campaign that touched a lead (kept as touches come in)."""

    lead = models.OneToOneField(
        Lead, on_delete=models.CASCADE, primary_key=True, related_name="attribution"
    )
    first_campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="first_touch_leads",
        verbose_name=_("first touch"),
    )
    first_at = models.DateTimeField(_("first touch at"), null=True, blank=True)
    last_campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="last_touch_leads",
        verbose_name=_("last touch"),
    )
    last_at = models.DateTimeField(_("last touch at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead attribution")
        verbose_name_plural = _("lead attributions")

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.first_campaign_id} → {self.last_campaign_id}"


class DealAttribution(models.Model):
    """The first and last campaign credited with a deal: its lead's, or its customer's touches
    before the deal was opened."""

    deal = models.OneToOneField(
        Deal, on_delete=models.CASCADE, primary_key=True, related_name="attribution"
    )
    first_campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="first_touch_deals",
        verbose_name=_("first touch"),
    )
    last_campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="last_touch_deals",
        verbose_name=_("last touch"),
    )

    class Meta:
        verbose_name = _("deal attribution")
        verbose_name_plural = _("deal attributions")

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.first_campaign_id} → {self.last_campaign_id}"


# --- consent ----------------------------------------------------------------------------------


class ConsentPurpose(models.TextChoices):
    NEWSLETTER = "newsletter", _("Newsletter")
    MARKETING = "marketing", _("Offers and product information")
    EVENTS = "events", _("Event invitations")
    TRACKING = "tracking", _("Website tracking")
    PHONE = "phone", _("Calls for advertising")


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    POST = "post", _("Post")
    WEB = "web", _("Website")


# Consent for these purposes is advertising (UWG §7): granted only through double opt-in.
MARKETING_PURPOSES = (
    ConsentPurpose.NEWSLETTER,
    ConsentPurpose.MARKETING,
    ConsentPurpose.EVENTS,
    ConsentPurpose.PHONE,
)


class ConsentText(models.Model):
    """The exact wording a person agreed to: a new version for every change, never edited."""

    purpose = models.CharField(_("purpose"), max_length=12, choices=ConsentPurpose.choices)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES)
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = _user_fk(_("created by"))

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        ordering = ["purpose", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "language", "version"], name="consent_text_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.language}) v{self.version}"


class ConsentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Not confirmed in time")


class ConsentBasis(models.TextChoices):
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in")
    EXISTING_CUSTOMER = "existing_customer", _("Existing customer (UWG §7 (3))")
    VISITOR = "visitor", _("Visitor's choice on the website")
    DOCUMENTED = "documented", _("Documented by staff")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Web form")
    API = "api", _("API")
    STAFF = "staff", _("Staff")
    IMPORT = "import", _("Import")
    EVENT = "event", _("Event")


class Consent(models.Model):
    """One consent of a party or lead for one purpose on one channel, with its proof.

    A marketing purpose starts ``pending`` and becomes ``granted`` only when the link in the
    confirmation mail is opened (double opt-in); ``token_hash`` is that link's SHA-256. A
    withdrawal (one click, or staff) ends it for good: a new consent is a new record."""

    party = models.ForeignKey(
        Party,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consents",
        verbose_name=_("party"),
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consents",
        verbose_name=_("lead"),
    )
    email = models.CharField(_("e-mail"), max_length=254, blank=True, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=12, choices=ConsentPurpose.choices)
    channel = models.CharField(_("channel"), max_length=6, choices=ConsentChannel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.PENDING
    )
    basis = models.CharField(
        _("legal basis"),
        max_length=20,
        choices=ConsentBasis.choices,
        default=ConsentBasis.DOUBLE_OPT_IN,
    )
    source = models.CharField(_("source"), max_length=8, choices=ConsentSource.choices)
    text = models.ForeignKey(
        ConsentText,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consents",
        verbose_name=_("consent text"),
    )
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="de")
    requested_at = models.DateTimeField(_("given"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_ip = models.GenericIPAddressField(_("confirmed from"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    unsubscribe_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    recorded_by = _user_fk(_("recorded by"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["party", "purpose", "channel"], name="consent_party_purpose"),
            models.Index(fields=["lead", "purpose", "channel"], name="consent_lead_purpose"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(party__isnull=False)
                | models.Q(lead__isnull=False)
                | ~models.Q(email=""),
                name="consent_has_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} / {self.get_channel_display()}: {self.status}"


class ConsentEventKind(models.TextChoices):
    REQUESTED = "requested", _("Given, waiting for confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Not confirmed in time")
    MAIL_SENT = "mail_sent", _("Confirmation e-mail sent")
    MOVED = "moved", _("Moved to the converted contact")


class ConsentEvent(models.Model):
    """A step in a consent's history: who or what, when, from where."""

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=10, choices=ConsentEventKind.choices)
    at = models.DateTimeField(_("when"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)
    actor = _user_fk(_("by"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.consent_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


# --- forms ------------------------------------------------------------------------------------


class LeadForm(models.Model):
    """A web-to-lead form: its fields, consent texts, thank-you and where it may be embedded.

    ``fields`` is a list of ``{"key", "label", "type", "required"}``; ``key`` is a lead field
    (``first_name``, ``email``, ``company`` …) or ``custom.<key>`` of a lead custom field
    (``kreis.marketing.forms_public``). The public address is ``/f/<key>/``."""

    name = models.CharField(_("name"), max_length=120)
    key = models.SlugField(
        _("address"),
        max_length=60,
        unique=True,
        help_text=_("Part of the public address /f/<address>/; lower case, digits, hyphens."),
    )
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="de")
    title = models.CharField(_("heading"), max_length=200, blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    fields = models.JSONField(_("fields"), default=list)
    consent_purposes = models.JSONField(
        _("consents asked"),
        default=list,
        blank=True,
        help_text=_("Purposes whose current consent text is shown as a checkbox."),
    )
    submit_label = models.CharField(_("button text"), max_length=60, blank=True)
    thank_you_text = models.TextField(_("thank-you text"), blank=True)
    redirect_url = models.URLField(_("redirect after sending"), blank=True)
    allowed_origins = models.TextField(
        _("websites that may embed the form"),
        blank=True,
        help_text=_("One origin per line, e.g. https://www.example.com."),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="forms",
        verbose_name=_("campaign"),
    )
    lead_source = models.CharField(_("lead source"), max_length=100, default="web form")
    is_active = models.BooleanField(_("active"), default=True)
    owner = _user_fk(_("owner"), related_name="lead_forms")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        ]


class SubmissionOutcome(models.TextChoices):
    CREATED = "created", _("New lead")
    UPDATED = "updated", _("Existing lead updated")
    PARTY = "party", _("Known contact")
    PENDING = "pending", _("Being processed")
    FAILED = "failed", _("Processing failed")


class FormSubmission(models.Model):
    """What one visitor sent through a form, with where they came from."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="submissions")
    data = models.JSONField(_("data"), default=dict)
    lead = models.ForeignKey(
        Lead,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="form_submissions",
        verbose_name=_("lead"),
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="form_submissions",
        verbose_name=_("contact"),
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=SubmissionOutcome.choices)
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
        verbose_name=_("campaign"),
    )
    page_url = models.CharField(_("page"), max_length=1000, blank=True)
    referrer = models.CharField(_("referrer"), max_length=1000, blank=True)
    utm_source = models.CharField("utm_source", max_length=200, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=200, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=200, blank=True)
    utm_term = models.CharField("utm_term", max_length=200, blank=True)
    utm_content = models.CharField("utm_content", max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=400, blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    # Set when the submission waited in the inbox file of a SQLite installation
    # (kreis.marketing.webforms.inbox): moving it in twice after a crash is refused.
    intake_key = models.CharField(max_length=32, unique=True, null=True, blank=True)
    # Taken at once, processed by a job (matching, lead, consents, note, scoring): what the
    # job needs is kept here until it is done, then emptied.
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    error = models.TextField(_("processing error"), blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "created_at"], name="mkt_submission_outcome")]

    def __str__(self) -> str:
        return f"{self.form_id} {self.created_at:%Y-%m-%d %H:%M}"


# --- website tracking -------------------------------------------------------------------------


class Visitor(models.Model):
    """A browser that agreed to be tracked, by a random first-party id (cookie ``kreis_vid``
    on the company's own site); linked to a lead or contact once it sends a form."""

    uid = models.CharField(max_length=64, unique=True, editable=False)
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="visitors"
    )
    party = models.ForeignKey(
        Party, on_delete=models.SET_NULL, null=True, blank=True, related_name="visitors"
    )
    consented_at = models.DateTimeField(_("tracking consent"))
    first_seen = models.DateTimeField(_("first visit"))
    last_seen = models.DateTimeField(_("last visit"), db_index=True)

    class Meta:
        verbose_name = _("website visitor")
        verbose_name_plural = _("website visitors")
        ordering = ["-last_seen", "-pk"]

    def __str__(self) -> str:
        return self.uid[:8]


class PageVisit(models.Model):
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="visits")
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="page_visits"
    )
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, null=True, blank=True, related_name="page_visits"
    )
    url = models.CharField(_("address"), max_length=1000)
    path = models.CharField(_("path"), max_length=500, db_index=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    referrer = models.CharField(_("referrer"), max_length=1000, blank=True)
    utm_source = models.CharField("utm_source", max_length=200, blank=True)
    utm_medium = models.CharField("utm_medium", max_length=200, blank=True)
    utm_campaign = models.CharField("utm_campaign", max_length=200, blank=True)
    utm_term = models.CharField("utm_term", max_length=200, blank=True)
    utm_content = models.CharField("utm_content", max_length=200, blank=True)
    at = models.DateTimeField(_("visited"), db_index=True)

    class Meta:
        verbose_name = _("page visit")
        verbose_name_plural = _("page visits")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["lead", "at"], name="visit_lead_at"),
            models.Index(fields=["party", "at"], name="visit_party_at"),
            models.Index(fields=["visitor", "at"], name="visit_visitor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.path} {self.at:%Y-%m-%d %H:%M}"


# --- content offers ---------------------------------------------------------------------------


class ContentOffer(models.Model):
    """A download (white paper, price list, checklist …) a visitor gets after sending a form."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, default="de")
    file = models.FileField(_("file"), upload_to="offers/%Y/", max_length=300)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=100)
    size = models.PositiveIntegerField(_("size"), default=0)
    form = models.ForeignKey(
        LeadForm,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("form in front of it"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("campaign"),
    )
    topic = models.CharField(_("topic"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(
        _("order"), default=0, help_text=_("Follow-ups send the next offer by this order.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = _user_fk(_("uploaded by"))
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("content offer")
        verbose_name_plural = _("content offers")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class ContentDownload(models.Model):
    """One handing-out of an offer: after a form, or sent by a follow-up. The link is a
    single-purpose token (only its SHA-256 stored)."""

    offer = models.ForeignKey(ContentOffer, on_delete=models.CASCADE, related_name="downloads")
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="downloads"
    )
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, null=True, blank=True, related_name="downloads"
    )
    submission = models.ForeignKey(
        FormSubmission, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("handed out"), auto_now_add=True)
    expires_at = models.DateTimeField(_("link valid until"))
    downloaded_at = models.DateTimeField(_("first downloaded"), null=True, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)

    class Meta:
        verbose_name = _("content download")
        verbose_name_plural = _("content downloads")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.offer_id} → {self.lead_id or self.party_id}"


class FollowUpTrigger(models.TextChoices):
    SCORE = "score", _("Score reached")
    VISITS = "visits", _("Pages visited")


class FollowUpRule(models.Model):
    """When to send an offer on its own: a lead's score reached ``min_score``, or
    ``visit_count`` visits to pages whose path contains ``path_contains`` within
    ``within_days`` (e.g. three visits to /pricing in 14 days)."""

    name = models.CharField(_("name"), max_length=120)
    trigger = models.CharField(_("when"), max_length=6, choices=FollowUpTrigger.choices)
    min_score = models.FloatField(_("score at least"), null=True, blank=True)
    path_contains = models.CharField(_("page address contains"), max_length=200, blank=True)
    visit_count = models.PositiveSmallIntegerField(
        _("visits"), default=3, validators=[MinValueValidator(1)]
    )
    within_days = models.PositiveSmallIntegerField(
        _("within days"), default=14, validators=[MinValueValidator(1)]
    )
    offer = models.ForeignKey(
        ContentOffer,
        on_delete=models.CASCADE,
        related_name="follow_up_rules",
        verbose_name=_("offer to send"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class FollowUpSent(models.Model):
    """An offer a follow-up rule sent to a lead: never the same offer twice."""

    rule = models.ForeignKey(
        FollowUpRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="sent"
    )
    offer = models.ForeignKey(ContentOffer, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    sent_at = models.DateTimeField(_("sent"))
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        verbose_name = _("follow-up sent")
        verbose_name_plural = _("follow-ups sent")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "lead"], name="follow_up_once_per_lead")
        ]

    def __str__(self) -> str:
        return f"{self.offer_id} → {self.lead_id}"


# --- predictive scoring -----------------------------------------------------------------------


class LeadScoringModel(models.Model):
    """One training of the predictive lead score: on converted (1) versus disqualified (0)
    leads, its cross-validated AUC and the features that weigh most. The newest row with
    ``usable`` scores the leads; while none is, the rule scores apply."""

    trained_at = models.DateTimeField(_("trained"))
    samples = models.PositiveIntegerField(_("leads learnt from"))
    positives = models.PositiveIntegerField(_("converted among them"))
    usable = models.BooleanField(_("used for scoring"), default=False)
    auc = models.FloatField(_("AUC (cross-validated)"), null=True, blank=True)
    auc_std = models.FloatField(_("AUC spread"), null=True, blank=True)
    folds = models.PositiveSmallIntegerField(_("folds"), default=0)
    importances = models.JSONField(_("most important features"), default=list, blank=True)
    message = models.CharField(_("note"), max_length=400, blank=True)
    model = models.BinaryField(_("model"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("predictive lead scoring model")
        verbose_name_plural = _("predictive lead scoring models")
        ordering = ["-trained_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d %H:%M}"


# --- handoff to sales -------------------------------------------------------------------------


class LeadAssignmentRule(models.Model):
    """Who gets a qualified lead: the first active rule (by position) whose conditions fit the
    lead hands it round-robin to its users, skipping anyone at the workload cap."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    territory = models.CharField(_("territory"), max_length=100, blank=True)
    product_interest = models.ForeignKey(
        Product,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product interest"),
    )
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES, blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Its members take the leads, unless users are picked."),
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users")
    )
    workload_cap = models.PositiveSmallIntegerField(
        _("open leads at most per user"),
        null=True,
        blank=True,
        help_text=_("Empty: no cap."),
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
    last_user = _user_fk(_("last assigned to"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class HandoffStatus(models.TextChoices):
    OPEN = "open", _("Waiting for first contact")
    CONTACTED = "contacted", _("Contacted in time")
    LATE = "late", _("Contacted late")
    RECYCLED = "recycled", _("Recycled")


class LeadHandoff(models.Model):
    """One handing of a lead to a rep, with the first-contact SLA: due, reminded, escalated to
    the team manager, and recycled (taken back and assigned anew) when nobody called."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    assigned_to = _user_fk(_("assigned to"), related_name="lead_handoffs")
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        LeadAssignmentRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs",
        verbose_name=_("rule"),
    )
    reason = models.CharField(_("why this rep"), max_length=300, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), db_index=True)
    due_at = models.DateTimeField(_("first contact due"))
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    recycled_at = models.DateTimeField(_("recycled"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.OPEN
    )

    class Meta:
        verbose_name = _("lead handoff")
        verbose_name_plural = _("lead handoffs")
        ordering = ["-assigned_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_at"], name="handoff_open_due")]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.assigned_to_id}"


# --- relationship types (kreis.marketing.relationships) ----------------------------------------

from kreis.marketing.relationships.models import (  # noqa: E402, F401
    Ownership,
    PartyRelationshipType,
    RelationshipType,
)

# --- settings ---------------------------------------------------------------------------------


class MarketingSettings(models.Model):
    """One row (pk 1): thresholds, SLAs and retention of lead management. ``load()`` gives it."""

    mql_threshold = models.FloatField(
        _("MQL threshold"),
        default=60,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            "A lead whose score (0–100) reaches this is marketing-qualified and handed to sales."
        ),
    )
    min_training_leads = models.PositiveSmallIntegerField(
        _("decided leads needed for the predictive score"),
        default=40,
        validators=[MinValueValidator(10)],
        help_text=_("Converted plus disqualified leads; below this the rule scores apply."),
    )
    first_contact_hours = models.PositiveSmallIntegerField(
        _("hours to the first contact"), default=24, validators=[MinValueValidator(1)]
    )
    reminder_percent = models.PositiveSmallIntegerField(
        _("remind when this share of the time is gone (%)"),
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    recycle_hours = models.PositiveSmallIntegerField(
        _("hours after the due time until a lead is recycled"),
        default=48,
        validators=[MinValueValidator(1)],
    )
    tracking_enabled = models.BooleanField(_("website tracking enabled"), default=True)
    tracking_allowed_origins = models.TextField(
        _("websites that may send page visits"),
        blank=True,
        help_text=_("One origin per line, e.g. https://www.example.com."),
    )
    visit_retention_days = models.PositiveSmallIntegerField(
        _("days page visits are kept"), default=180, validators=[MinValueValidator(1)]
    )
    doi_link_days = models.PositiveSmallIntegerField(
        _("days the opt-in link stays valid"), default=7, validators=[MinValueValidator(1)]
    )
    form_posts_per_hour = models.PositiveSmallIntegerField(
        _("form submissions per IP address and hour"),
        default=20,
        validators=[MinValueValidator(1)],
    )
    form_min_seconds = models.PositiveSmallIntegerField(
        _("minimum seconds before a form is sent"),
        default=3,
        help_text=_("Faster submissions are treated as spam (time trap)."),
    )
    rate_limit_enabled = models.BooleanField(
        _("rate limit on public forms"),
        default=True,
        help_text=_("Switch off only for a load test."),
    )
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    sender_email = models.EmailField(_("sender address"), blank=True)
    imprint = models.TextField(
        _("imprint in marketing e-mails"),
        blank=True,
        help_text=_("Company name and postal address, as the law asks for in every mail."),
    )
    public_base_url = models.URLField(
        _("public address of Kreis"),
        blank=True,
        help_text=_(
            "For links in e-mails (opt-in, unsubscribe, downloads), e.g. https://crm.example.com."
        ),
    )

    class Meta:
        verbose_name = _("lead management settings")
        verbose_name_plural = _("lead management settings")

    def __str__(self) -> str:
        return str(_("Lead management settings"))

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> MarketingSettings:
        return cls.objects.get_or_create(pk=1)[0]

    def tracking_origins(self) -> list[str]:
        return [
            line.strip().rstrip("/")
            for line in self.tracking_allowed_origins.splitlines()
            if line.strip()
        ]
