"""Parties (xCRM): organisations and persons, with contact data, roles and relationships.

Every relationship Kreis manages — customers, prospects, partners, suppliers, competitors —
starts at a party. A person may work for organisations (``Employment``); parties relate to
each other through typed ``Relationship``s.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.core.models import Team


class PartyKind(models.TextChoices):
    ORGANIZATION = "organization", _("Organisation")
    PERSON = "person", _("Person")


class PartyRole(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    PROSPECT = "prospect", _("Prospect")
    PARTNER = "partner", _("Partner")
    RESELLER = "reseller", _("Reseller")
    SUPPLIER = "supplier", _("Supplier")
    SERVICE_PROVIDER = "service_provider", _("Service provider")
    COMPETITOR = "competitor", _("Competitor")
    INFLUENCER = "influencer", _("Influencer")


class CompanySize(models.TextChoices):
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-249", _("50–249 employees")
    LARGE = "250-999", _("250–999 employees")
    ENTERPRISE = "1000+", _("1,000 or more employees")


class AbcClass(models.TextChoices):
    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New customer")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class ClvMarginBasis(models.TextChoices):
    """What a customer's expected margin per purchase in the CLV rests on (DOMAIN.md §7.5)."""

    MODEL = "model", _("Gamma-Gamma estimate")
    POPULATION = "population", _("mean of all customers (one purchase so far)")
    OWN_MEAN = "own_mean", _("own mean margin (not positive)")


class LifecyclePhase(models.TextChoices):
    """DOMAIN.md §2: the sub-phases; their main phase is in ``MAIN_PHASE``."""

    INITIATION = "initiation", _("Initiation")
    SOCIALIZATION = "socialization", _("Socialization")
    GROWTH = "growth", _("Growth")
    MATURITY = "maturity", _("Maturity")
    ENDANGERMENT = "endangerment", _("Endangerment")
    DISSOLUTION = "dissolution", _("Dissolution")
    ABSTINENCE = "abstinence", _("Abstinence")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Written by the analytics run in bulk; never part of a party's edit history.
FIGURE_FIELDS = (
    "abc_class",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_segment",
    "revenue_12m",
    "historical_value",
    "clv",
    "p_alive",
    "expected_purchases",
    "score",
    "grade",
    "lifecycle_reason",
    "lifecycle_facts",
    "lifecycle_since",
    "figures_computed_at",
)
# Written by the survey answers (kreis.feedback): the party's last answer's scores.
SURVEY_FIELDS = ("last_nps", "last_csat", "last_loyalty", "last_survey_answered_at")


class Party(models.Model):
    kind = models.CharField(_("kind"), max_length=12, choices=PartyKind.choices)
    # For persons the display name is derived from first and last name when saved.
    name = models.CharField(_("name"), max_length=200, db_index=True)
    salutation = models.CharField(_("salutation"), max_length=40, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    territory = models.CharField(_("territory"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    vat_id = models.CharField(_("VAT ID"), max_length=20, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_parties",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="parties",
        verbose_name=_("team"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="parties", verbose_name=_("tags"))
    external_id = models.CharField(
        _("external ID"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The party's key in another system (ERP, shop), for imports."),
    )
    # Entered or imported: the customer's purchasing potential per year (share of wallet =
    # own revenue ÷ potential) and the end of the relationship, both inputs of the analytics.
    purchasing_potential = models.DecimalField(
        _("purchasing potential per year"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("What the customer buys per year from all suppliers of what you sell."),
    )
    termination_announced = models.BooleanField(_("termination announced"), default=False)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    # Figures computed by the nightly analytics run (kreis.analytics) and stored here so that
    # every list filters and sorts by them. Kept out of the history: they change every night.
    abc_class = models.CharField(
        _("ABC class"), max_length=1, choices=AbcClass.choices, blank=True, db_index=True
    )
    rfm_recency = models.PositiveSmallIntegerField(_("RFM recency score"), null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(
        _("RFM frequency score"), null=True, blank=True
    )
    rfm_monetary = models.PositiveSmallIntegerField(_("RFM monetary score"), null=True, blank=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RfmSegment.choices, blank=True, db_index=True
    )
    revenue_12m = models.DecimalField(
        _("revenue, last 12 months"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    historical_value = models.DecimalField(
        _("historical value"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Contribution margin I to date."),
    )
    clv = models.DecimalField(
        _("customer lifetime value"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Discounted predicted margin of the coming months (BG/NBD × Gamma-Gamma)."),
    )
    p_alive = models.FloatField(_("probability alive"), null=True, blank=True)
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=8, blank=True)
    lifecycle_phase = models.CharField(
        _("lifecycle phase"),
        max_length=14,
        choices=LifecyclePhase.choices,
        blank=True,
        db_index=True,
    )
    lifecycle_reason = models.CharField(_("phase reason"), max_length=40, blank=True)
    lifecycle_facts = models.JSONField(_("phase facts"), default=dict, blank=True)
    lifecycle_since = models.DateField(_("phase since"), null=True, blank=True)
    lifecycle_override = models.BooleanField(
        _("phase set by hand"),
        default=False,
        help_text=_("The nightly run keeps a phase set by hand until the override is lifted."),
    )
    lifecycle_note = models.CharField(_("phase note"), max_length=300, blank=True)
    won_back_at = models.DateField(_("won back"), null=True, blank=True)
    figures_computed_at = models.DateTimeField(_("figures computed"), null=True, blank=True)
    # The last survey answer's scores (kreis.feedback), kept here so lists filter and sort by them.
    last_nps = models.PositiveSmallIntegerField(
        _("last NPS answer"), null=True, blank=True, help_text=_("0–10 from the last survey.")
    )
    last_csat = models.FloatField(
        _("last CSAT"), null=True, blank=True, help_text=_("Mean 1–5 rating of the last survey.")
    )
    last_loyalty = models.FloatField(
        _("last loyalty index"), null=True, blank=True, help_text=_("0–100 from the last survey.")
    )
    last_survey_answered_at = models.DateTimeField(_("last survey answer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, db_index=True)

    history = HistoricalRecords(
        excluded_fields=["updated_at", *FIGURE_FIELDS, *SURVEY_FIELDS], m2m_fields=[tags]
    )

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["kind", "name"], name="party_kind_name"),
            models.Index(fields=["owner", "team"], name="party_owner_team"),
            # The list's default: live parties in name order, walked in index order.
            models.Index(fields=["deleted_at", "name", "id"], name="party_alive_name"),
            models.Index(fields=["deleted_at", "created_at", "id"], name="party_alive_created"),
            models.Index(fields=["kind", "deleted_at", "name", "id"], name="party_kind_alive_name"),
            models.Index(
                fields=["kind", "deleted_at", "created_at", "id"], name="party_kind_alive_created"
            ),
            models.Index(fields=["deleted_at", "clv", "id"], name="party_alive_clv"),
            models.Index(fields=["deleted_at", "score", "id"], name="party_alive_score"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_person(self) -> bool:
        return self.kind == PartyKind.PERSON

    def role_values(self) -> list[str]:
        return [r.role for r in self.role_assignments.all()]


class PartyRoleAssignment(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=20, choices=PartyRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["party", "role"], name="party_role_unique")]
        indexes = [models.Index(fields=["role", "party"], name="party_role_lookup")]

    def __str__(self) -> str:
        return f"{self.party}: {self.get_role_display()}"


class ContactKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social profile")


class ContactPoint(models.Model):
    """An e-mail address, phone number (E.164) or social handle of a party, normalised."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    label = models.CharField(
        _("label"),
        max_length=40,
        blank=True,
        help_text=_("e.g. work, private, mobile — or the network for a social profile"),
    )
    value = models.CharField(_("value"), max_length=254)
    is_primary = models.BooleanField(_("primary"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["kind", "-is_primary", "pk"]
        indexes = [models.Index(fields=["kind", "value"], name="contact_point_lookup")]

    def __str__(self) -> str:
        return self.value


class AddressKind(models.TextChoices):
    OFFICE = "office", _("Office")
    BILLING = "billing", _("Billing")
    SHIPPING = "shipping", _("Shipping")
    PRIVATE = "private", _("Private")


class Address(models.Model):
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(
        _("kind"), max_length=10, choices=AddressKind.choices, default=AddressKind.OFFICE
    )
    street = models.CharField(_("street"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="DE")
    is_primary = models.BooleanField(_("primary"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_primary", "pk"]

    def __str__(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}".strip()


class Employment(models.Model):
    """A person works for (or is a contact at) an organisation."""

    person = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="employments")
    organization = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="staff")
    position = models.CharField(_("position"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    is_primary_contact = models.BooleanField(_("primary contact"), default=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization"], name="employment_unique_person_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.organization}"


class RelationshipType(models.TextChoices):
    SUBSIDIARY_OF = "subsidiary_of", _("is a subsidiary of")
    SUPPLIER_OF = "supplier_of", _("supplies")
    CUSTOMER_OF = "customer_of", _("is a customer of")
    PARTNER_OF = "partner_of", _("is a partner of")
    RESELLER_OF = "reseller_of", _("resells for")
    SERVICE_PROVIDER_OF = "service_provider_of", _("provides services to")
    COMPETITOR_OF = "competitor_of", _("competes with")
    INFLUENCER_FOR = "influencer_for", _("influences")


class Relationship(models.Model):
    """A typed, directed relationship: *source* ‹type› *target* (e.g. A is a subsidiary of B)."""

    source = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="relationships_out")
    target = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="relationships_in")
    type = models.CharField(_("type"), max_length=24, choices=RelationshipType.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("relationship")
        verbose_name_plural = _("relationships")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "type"], name="relationship_unique"
            ),
            models.CheckConstraint(
                condition=~Q(source=F("target")), name="relationship_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.get_type_display()} {self.target}"


class PartyMerge(models.Model):
    """Two parties merged into one: what was chosen and moved, so the merge can be undone."""

    survivor = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="merges_kept")
    merged = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="merges_absorbed")
    # The survivor's fields before the merge, and which related rows moved (model -> ids).
    survivor_before = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    performed_at = models.DateTimeField(_("merged"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)

    class Meta:
        verbose_name = _("party merge")
        verbose_name_plural = _("party merges")
        ordering = ["-performed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.merged} → {self.survivor}"
