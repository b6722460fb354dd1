"""What a column of an import file can be mapped to: the import targets of each record type.

A mapping is ``{"<file header>": "<target key>"}``. The engine's handlers read the values of
a row by these keys; the wizard lists them with their labels; ``mapping.suggest_mapping``
proposes them from the headers. Keys are stable API (saved mapping templates hold them).

Target keys per entity (``custom.<key>`` for every active custom field of parties, leads
and deals is added at run time by ``targets_for``):

organization
    external_id, name*, industry, size, source, territory, website, vat_id, iban, notes,
    purchasing_potential, contract_end, termination_announced, email, email_2, phone,
    phone_2, mobile, fax, social, street, postal_code, city, region, country, roles, tags,
    owner, team
person  (needs last_name or full_name)
    external_id, salutation, first_name, last_name, full_name, email, email_2, phone,
    phone_2, mobile, fax, social, street, postal_code, city, region, country, website,
    source, territory, iban, notes, contract_end, roles, tags, owner, team,
    organization, organization_external_id, position, department
lead
    external_id, status, salutation, first_name, last_name (or full_name), full_name,
    company, position, email, phone, website, source, budget, authority, need, timeline,
    disqualify_reason, disqualify_note, notes, tags, owner, team
deal
    external_id, name*, pipeline, stage, amount, currency, expected_close, closed_at,
    lost_reason, lost_note, source, notes, organization, organization_external_id,
    contact, contact_email, contact_external_id, tags, owner, team
activity
    external_id, kind*, subject*, body, occurred_at*, ends_at, done_at, direction,
    duration_minutes, outcome, location, party, party_external_id, party_email,
    deal_external_id, lead_external_id, owner, team
product
    sku*, name*, list_price*, unit_cost, unit, currency, category, description, is_active
transaction  (header fields; rows sharing external_id, or number when there is no
    external_id, form one transaction with several lines)
    external_id, number, kind*, date*, party, party_external_id, party_email, currency,
    channel, note, owner, team,
    line.sku, line.description, line.quantity*, line.unit_price, line.discount
    (a party and a product SKU or line description are needed)

(* = required.) Kinds: text, email, phone, url, decimal, integer, date, datetime, bool,
choice (``choices`` lists the stored values), reference (another record, found by name,
e-mail or key: the engine resolves it) and list (several values in one cell, split at
``;`` or ``,``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import ActivityKind, CallOutcome, Direction
from kreis.commerce.models import TransactionKind
from kreis.core.customfields import custom_fields_for
from kreis.leads.models import DisqualifyReason, LeadStatus
from kreis.parties.models import CompanySize, PartyRole

TEXT = "text"
EMAIL = "email"
PHONE = "phone"
URL = "url"
DECIMAL = "decimal"
INTEGER = "integer"
DATE = "date"
DATETIME = "datetime"
BOOL = "bool"
CHOICE = "choice"
REFERENCE = "reference"
LIST = "list"
KINDS = (TEXT, EMAIL, PHONE, URL, DECIMAL, INTEGER, DATE, DATETIME, BOOL, CHOICE, REFERENCE, LIST)

ENTITIES = ("organization", "person", "lead", "deal", "activity", "product", "transaction")
CUSTOM_PREFIX = "custom."
LINE_PREFIX = "line."
# Record types whose custom fields are import targets (core.customfields.ENTITIES).
CUSTOM_FIELD_ENTITY = {"organization": "party", "person": "party", "lead": "lead", "deal": "deal"}


@dataclass(frozen=True)
class Target:
    """One field a column can fill."""

    key: str
    label: str | Promise
    kind: str = TEXT
    required: bool = False
    help: str | Promise = ""
    # For CHOICE: the stored values accepted (labels in either language are matched too).
    choices: tuple[str, ...] = ()
    # For a transaction: a field of the line, not of the header.
    line: bool = False

    @property
    def is_custom(self) -> bool:
        return self.key.startswith(CUSTOM_PREFIX)


def _t(key: str, label: str | Promise, kind: str = TEXT, **extra) -> Target:
    return Target(key=key, label=label, kind=kind, **extra)


_EXTERNAL_ID = _t(
    "external_id",
    _("External ID"),
    help=_("The record's key in the other system; importing again updates instead of adding."),
)
_OWNER = _t(
    "owner", _("Owner"), REFERENCE, help=_("A user, by e-mail address, user name or full name.")
)
_TEAM = _t("team", _("Team"), REFERENCE, help=_("A team, by name."))
_TAGS = _t("tags", _("Tags"), LIST, help=_("Several tags separated by ; or ,."))
_NOTES = _t("notes", _("Notes"))
_SOURCE = _t("source", _("Source"))

_CONTACT = (
    _t("email", _("E-mail"), EMAIL),
    _t("email_2", _("E-mail (second)"), EMAIL),
    _t("phone", _("Phone"), PHONE),
    _t("phone_2", _("Phone (second)"), PHONE),
    _t("mobile", _("Mobile"), PHONE),
    _t("fax", _("Fax"), PHONE),
    _t("social", _("Social profile"), URL, help=_("A profile address, e.g. on LinkedIn.")),
)
_ADDRESS = (
    _t("street", _("Street")),
    _t("postal_code", _("Postal code")),
    _t("city", _("City")),
    _t("region", _("Region")),
    _t("country", _("Country"), help=_("ISO code (DE) or name (Germany, Deutschland).")),
)
_ROLES = _t(
    "roles",
    _("Roles"),
    LIST,
    choices=tuple(PartyRole.values),
    help=_("Customer, prospect, partner, supplier …; several separated by ; or ,."),
)

ORGANIZATION = (
    _EXTERNAL_ID,
    _t("name", _("Name"), required=True),
    _t("industry", _("Industry")),
    _t("size", _("Size"), CHOICE, choices=tuple(CompanySize.values)),
    _SOURCE,
    _t("territory", _("Territory")),
    _t("website", _("Website"), URL),
    _t("vat_id", _("VAT ID"), help=_("e.g. DE123456789")),
    _t("iban", _("IBAN")),
    _NOTES,
    _t("purchasing_potential", _("Purchasing potential per year"), DECIMAL),
    _t("contract_end", _("Contract end"), DATE),
    _t("termination_announced", _("Termination announced"), BOOL),
    *_CONTACT,
    *_ADDRESS,
    _ROLES,
    _TAGS,
    _OWNER,
    _TEAM,
)

PERSON = (
    _EXTERNAL_ID,
    _t("salutation", _("Salutation")),
    _t("first_name", _("First name")),
    _t("last_name", _("Last name"), help=_("Last name or full name is needed.")),
    _t(
        "full_name",
        _("Full name"),
        help=_("First and last name in one column; split at the last space."),
    ),
    *_CONTACT,
    *_ADDRESS,
    _t("website", _("Website"), URL),
    _SOURCE,
    _t("territory", _("Territory")),
    _t("iban", _("IBAN")),
    _NOTES,
    _t("contract_end", _("Contract end"), DATE),
    _ROLES,
    _TAGS,
    _OWNER,
    _TEAM,
    _t(
        "organization",
        _("Organisation"),
        REFERENCE,
        help=_("The organisation the person works for, by name; created when not found."),
    ),
    _t("organization_external_id", _("Organisation: external ID"), REFERENCE),
    _t("position", _("Position")),
    _t("department", _("Department")),
)

LEAD = (
    _EXTERNAL_ID,
    _t("status", _("Status"), CHOICE, choices=tuple(LeadStatus.values)),
    _t("salutation", _("Salutation")),
    _t("first_name", _("First name")),
    _t("last_name", _("Last name"), help=_("Last name or full name is needed.")),
    _t("full_name", _("Full name")),
    _t("company", _("Company")),
    _t("position", _("Position")),
    _t("email", _("E-mail"), EMAIL),
    _t("phone", _("Phone"), PHONE),
    _t("website", _("Website"), URL),
    _SOURCE,
    _t("budget", _("Budget"), DECIMAL),
    _t("authority", _("Authority")),
    _t("need", _("Need")),
    _t("timeline", _("Timeline"), DATE),
    _t(
        "disqualify_reason",
        _("Disqualification reason"),
        CHOICE,
        choices=tuple(DisqualifyReason.values),
    ),
    _t("disqualify_note", _("Disqualification note")),
    _NOTES,
    _TAGS,
    _OWNER,
    _TEAM,
)

DEAL = (
    _EXTERNAL_ID,
    _t("name", _("Name"), required=True),
    _t("pipeline", _("Pipeline"), REFERENCE, help=_("By name; the default pipeline if empty.")),
    _t("stage", _("Stage"), REFERENCE, help=_("By name; the pipeline's first stage if empty.")),
    _t("amount", _("Amount"), DECIMAL),
    _t("currency", _("Currency"), help=_("ISO code, e.g. EUR")),
    _t("expected_close", _("Expected close"), DATE),
    _t("closed_at", _("Closed"), DATETIME),
    _t("lost_reason", _("Lost reason"), REFERENCE),
    _t("lost_note", _("Lost note")),
    _SOURCE,
    _NOTES,
    _t("organization", _("Organisation"), REFERENCE, help=_("By name.")),
    _t("organization_external_id", _("Organisation: external ID"), REFERENCE),
    _t("contact", _("Contact person"), REFERENCE, help=_("By full name.")),
    _t("contact_email", _("Contact person: e-mail"), REFERENCE),
    _t("contact_external_id", _("Contact person: external ID"), REFERENCE),
    _TAGS,
    _OWNER,
    _TEAM,
)

ACTIVITY = (
    _EXTERNAL_ID,
    _t("kind", _("Kind"), CHOICE, required=True, choices=tuple(ActivityKind.values)),
    _t("subject", _("Subject"), required=True),
    _t("body", _("Details")),
    _t("occurred_at", _("Date"), DATETIME, required=True),
    _t("ends_at", _("Ends"), DATETIME),
    _t("done_at", _("Done"), DATETIME),
    _t("direction", _("Direction"), CHOICE, choices=tuple(Direction.values)),
    _t("duration_minutes", _("Duration (minutes)"), INTEGER),
    _t("outcome", _("Outcome"), CHOICE, choices=tuple(CallOutcome.values)),
    _t("location", _("Location")),
    _t("party", _("Party"), REFERENCE, help=_("An organisation or person, by name.")),
    _t("party_external_id", _("Party: external ID"), REFERENCE),
    _t("party_email", _("Party: e-mail"), REFERENCE),
    _t("deal_external_id", _("Deal: external ID"), REFERENCE),
    _t("lead_external_id", _("Lead: external ID"), REFERENCE),
    _OWNER,
    _TEAM,
)

PRODUCT = (
    _t("sku", _("SKU"), required=True, help=_("The article number; importing again updates.")),
    _t("name", _("Name"), required=True),
    _t("list_price", _("List price"), DECIMAL, required=True),
    _t("unit_cost", _("Unit cost"), DECIMAL),
    _t("unit", _("Unit")),
    _t("currency", _("Currency")),
    _t("category", _("Category")),
    _t("description", _("Description")),
    _t("is_active", _("Active"), BOOL),
)

TRANSACTION = (
    _t(
        "external_id",
        _("External ID"),
        help=_("Rows with the same external ID (or number) are lines of one transaction."),
    ),
    _t("number", _("Number")),
    _t("kind", _("Kind"), CHOICE, required=True, choices=tuple(TransactionKind.values)),
    _t("date", _("Date"), DATE, required=True),
    _t("party", _("Party"), REFERENCE, help=_("The customer, by name.")),
    _t("party_external_id", _("Party: external ID"), REFERENCE),
    _t("party_email", _("Party: e-mail"), REFERENCE),
    _t("currency", _("Currency")),
    _t("channel", _("Channel")),
    _t("note", _("Note")),
    _OWNER,
    _TEAM,
    _t("line.sku", _("Line: SKU"), REFERENCE, line=True),
    _t("line.description", _("Line: description"), line=True),
    _t("line.quantity", _("Line: quantity"), DECIMAL, required=True, line=True),
    _t(
        "line.unit_price",
        _("Line: unit price"),
        DECIMAL,
        line=True,
        help=_("The product's list price if empty."),
    ),
    _t("line.discount", _("Line: discount"), DECIMAL, line=True),
)

BUILT_IN: dict[str, tuple[Target, ...]] = {
    "organization": ORGANIZATION,
    "person": PERSON,
    "lead": LEAD,
    "deal": DEAL,
    "activity": ACTIVITY,
    "product": PRODUCT,
    "transaction": TRANSACTION,
}

# Of each group at least one must be mapped (beside the targets marked required).
REQUIRED_ONE_OF: dict[str, tuple[tuple[str, ...], ...]] = {
    "person": (("last_name", "full_name"),),
    "lead": (("last_name", "full_name"),),
    "transaction": (
        ("party", "party_external_id", "party_email"),
        ("line.sku", "line.description"),
    ),
}

# core.models.CustomFieldType → target kind
_CUSTOM_KIND = {
    "text": TEXT,
    "number": DECIMAL,
    "money": DECIMAL,
    "date": DATE,
    "choice": CHOICE,
    "multi_choice": LIST,
    "boolean": BOOL,
    "url": URL,
}


def custom_targets(entity: str) -> list[Target]:
    """The active custom fields of ``entity`` as targets ``custom.<key>`` (reads the DB)."""
    record_type = CUSTOM_FIELD_ENTITY.get(entity)
    if record_type is None:
        return []
    return [
        Target(
            key=CUSTOM_PREFIX + f.key,
            label=f.label,
            kind=_CUSTOM_KIND.get(f.type, TEXT),
            required=f.required,
            help=f.help_text,
            choices=tuple(f.choices or ()),
        )
        for f in custom_fields_for(record_type)
    ]


def targets_for(
    entity: str, *, custom: Callable[[str], list[Target]] | None = custom_targets
) -> list[Target]:
    """All targets of ``entity``: the built-in ones, then its custom fields.

    ``custom=None`` leaves out the custom fields (no database access).
    """
    if entity not in BUILT_IN:
        raise ValueError(f"unknown import entity {entity!r}")
    found = list(BUILT_IN[entity])
    if custom is not None:
        found += custom(entity)
    return found


def target_map(entity: str, **kwargs) -> dict[str, Target]:
    """``targets_for`` keyed by target key."""
    return {t.key: t for t in targets_for(entity, **kwargs)}


def required_keys(entity: str) -> set[str]:
    return {t.key for t in BUILT_IN[entity] if t.required}


__all__ = [
    "BUILT_IN",
    "CUSTOM_PREFIX",
    "ENTITIES",
    "KINDS",
    "LINE_PREFIX",
    "REQUIRED_ONE_OF",
    "Target",
    "custom_targets",
    "required_keys",
    "target_map",
    "targets_for",
]
