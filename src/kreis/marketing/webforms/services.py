"""Web-to-lead forms: building a form (its definition checked here) and taking a submission.

A sent form is taken in two parts. ``receive`` (in the visitor's request, a few
milliseconds) does step 1, stores the submission as ``pending`` with what the rest needs (on
SQLite first in an inbox file of its own, see ``inbox``), and hands out the download links of
the form's content offers. ``process`` (in the job
``kreis.marketing.webforms.tasks.process_submission``, or at once through ``submit``) does
steps 2–7 in one transaction. A submission whose job got lost or failed is taken again by
the sweeper every minute; nothing typed is lost on the way.

1. The input is checked against the form's fields (lead fields and lead custom fields); a
   ``ValidationError`` keyed by the form's field keys says what is wrong.
2. The lead is found through the duplicate matcher of lead imports
   (``kreis.leads.bulk.match_leads``: the same normalised e-mail, else phone, else first and
   last name at the same company; converted leads are not matched). A match is *updated*:
   empty fields are filled, nothing is overwritten (outcome ``updated``).
3. Without a matching lead, an e-mail address (or phone number) that belongs to a known
   person (a contact point of a person, ``kreis.leads.queries.matching_person``) links the
   submission to that person and creates no lead (outcome ``party``): the person is a contact
   already, and a lead for them would be a duplicate sales has to clean up. The person's
   timeline gets the note; the submission keeps everything that was typed.
4. Otherwise a new lead (outcome ``created``) with the form's lead source and language.
5. Each consent purpose the form asks for and the visitor ticked is recorded through
   ``kreis.marketing.consent.services.request_consent`` (proof: time, IP, browser, the current
   text version; advertising purposes start pending and get the double opt-in mail).
6. A note on the lead's (or person's) timeline says which form was sent, with the message.
7. ``kreis.marketing.signals.form_submitted`` goes out (campaign touch, visitor linking,
   content offers, scoring).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.activities.models import ActivityKind
from kreis.activities.services import activity_create
from kreis.commerce.models import Product
from kreis.core import publicforms
from kreis.core.customfields import clean_custom_values, custom_fields_for
from kreis.core.models import CustomField, User
from kreis.leads import services as lead_services
from kreis.leads.bulk import match_leads
from kreis.leads.models import Lead
from kreis.leads.queries import matching_person
from kreis.marketing.models import (
    MARKETING_PURPOSES,
    Campaign,
    ConsentChannel,
    ConsentPurpose,
    ConsentText,
    FormSubmission,
    LeadForm,
    SubmissionOutcome,
)
from kreis.marketing.signals import form_submitted
from kreis.marketing.webforms import inbox
from kreis.parties.normalize import normalize_email

CUSTOM_PREFIX = "custom."
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_FIELDS = 40
MAX_MESSAGE = 5000


@dataclass(frozen=True)
class LeadField:
    """A lead field a form may ask for: where it goes on the lead, its input type and length."""

    key: str
    target: str  # the Lead attribute
    label: Any
    type: str  # text, email, tel, url, textarea, product
    max_length: int


LEAD_FIELDS: dict[str, LeadField] = {
    f.key: f
    for f in (
        LeadField("salutation", "salutation", gettext_lazy("Salutation"), "text", 40),
        LeadField("first_name", "first_name", gettext_lazy("First name"), "text", 100),
        LeadField("last_name", "last_name", gettext_lazy("Last name"), "text", 100),
        LeadField("email", "email", gettext_lazy("E-mail"), "email", 254),
        LeadField("phone", "phone", gettext_lazy("Phone"), "tel", 40),
        LeadField("company", "company", gettext_lazy("Company"), "text", 200),
        LeadField("position", "position", gettext_lazy("Position"), "text", 120),
        LeadField("website", "website", gettext_lazy("Website"), "url", 200),
        LeadField("territory", "territory", gettext_lazy("Region"), "text", 100),
        LeadField(
            "product_interest",
            "product_interest",
            gettext_lazy("Product of interest"),
            "product",
            0,
        ),
        LeadField("message", "notes", gettext_lazy("Message"), "textarea", MAX_MESSAGE),
    )
}
# Lead fields the lead services set (the rest are set on the lead directly).
_SERVICE_FIELDS = set(lead_services.SCALAR_FIELDS)
# Each purpose's channel: what the consent allows to be used.
PURPOSE_CHANNEL = {
    ConsentPurpose.NEWSLETTER: ConsentChannel.EMAIL,
    ConsentPurpose.MARKETING: ConsentChannel.EMAIL,
    ConsentPurpose.EVENTS: ConsentChannel.EMAIL,
    ConsentPurpose.PHONE: ConsentChannel.PHONE,
    ConsentPurpose.TRACKING: ConsentChannel.WEB,
}
STAMP_SALT = "kreis.marketing.webforms.stamp"
SCOPE = "lead-form"


# --- the definition ---------------------------------------------------------------------------


def custom_lead_fields() -> dict[str, CustomField]:
    """The active custom fields of leads, by their key in a form (``custom.<key>``)."""
    return {f"{CUSTOM_PREFIX}{f.key}": f for f in custom_fields_for("lead")}


def field_choices() -> list[tuple[str, str]]:
    """Every field a form may ask for, as (key, label) for the builder."""
    choices = [(key, str(f.label)) for key, f in LEAD_FIELDS.items()]
    choices += [(key, f.label) for key, f in custom_lead_fields().items()]
    return choices


def default_fields() -> list[dict[str, Any]]:
    return [
        {"key": "first_name", "label": "", "required": False},
        {"key": "last_name", "label": "", "required": True},
        {"key": "email", "label": "", "required": True},
        {"key": "company", "label": "", "required": False},
        {"key": "message", "label": "", "required": False},
    ]


def clean_definition(
    *,
    fields: Any,
    consent_purposes: Any,
    allowed_origins: str = "",
    redirect_url: str = "",
) -> tuple[list[dict[str, Any]], list[str], str]:
    """The form's fields, consent purposes and allowed origins as stored, or a
    ``ValidationError`` per part that says what is wrong."""
    errors: dict[str, list[str]] = {}
    custom = custom_lead_fields()
    cleaned: list[dict[str, Any]] = []
    problems: list[str] = []
    if not isinstance(fields, list) or not fields:
        problems.append(_("Add at least one field."))
        fields = []
    if len(fields) > MAX_FIELDS:
        problems.append(_("A form has at most %(n)d fields.") % {"n": MAX_FIELDS})
    seen: set[str] = set()
    for position, row in enumerate(fields[:MAX_FIELDS], start=1):
        if not isinstance(row, Mapping):
            problems.append(_("Field %(n)d is not a field.") % {"n": position})
            continue
        key = str(row.get("key") or "").strip()
        label = str(row.get("label") or "").strip()
        if key not in LEAD_FIELDS and key not in custom:
            problems.append(
                _("Field %(n)d: there is no lead field “%(key)s”.")
                % {
                    "n": position,
                    "key": key[:60],
                }
            )
            continue
        if key in seen:
            problems.append(_("“%(label)s” is on the form twice.") % {"label": _label(key, custom)})
            continue
        if len(label) > 100:
            problems.append(_("Field %(n)d: a label has at most 100 characters.") % {"n": position})
            continue
        seen.add(key)
        cleaned.append({"key": key, "label": label, "required": bool(row.get("required"))})
    required = {row["key"] for row in cleaned if row["required"]}
    if cleaned and "last_name" not in required:
        problems.append(_("Every lead needs a last name: put “Last name” on the form, required."))
    for key, field in custom.items():
        if field.required and key not in required:
            problems.append(
                _("The lead field “%(label)s” is required for every lead: add it, required.")
                % {"label": field.label}
            )
    if problems:
        errors["fields"] = problems

    purposes: list[str] = []
    if not isinstance(consent_purposes, list):
        consent_purposes = []
    for purpose in consent_purposes:
        if purpose not in ConsentPurpose.values:
            errors.setdefault("consent_purposes", []).append(
                _("Unknown consent purpose “%(p)s”.") % {"p": str(purpose)[:40]}
            )
        elif purpose not in purposes:
            purposes.append(purpose)
    if any(p in MARKETING_PURPOSES for p in purposes) and "email" not in required:
        errors.setdefault("consent_purposes", []).append(
            _(
                "Consent to advertising is confirmed by e-mail (double opt-in): "
                "put “E-mail” on the form, required."
            )
        )

    origins: list[str] = []
    for line in (allowed_origins or "").splitlines():
        value = line.strip().lower().rstrip("/")
        if not value:
            continue
        if not publicforms.is_origin(value):
            errors.setdefault("allowed_origins", []).append(
                _("“%(o)s” is not a website origin like https://www.example.com.")
                % {"o": line.strip()[:100]}
            )
        elif value not in origins:
            origins.append(value)
    if redirect_url:
        try:
            URLValidator(schemes=["http", "https"])(redirect_url)
        except ValidationError:
            errors["redirect_url"] = [_("Enter a web address starting with http:// or https://.")]
    if errors:
        raise ValidationError(errors)
    return cleaned, purposes, "\n".join(origins)


def _label(key: str, custom: Mapping[str, CustomField]) -> str:
    if key in LEAD_FIELDS:
        return str(LEAD_FIELDS[key].label)
    return custom[key].label if key in custom else key


def _check_key(key: str, pk: int | None) -> None:
    if LeadForm.objects.filter(key=key).exclude(pk=pk).exists():
        raise ValidationError({"key": _("Another form has this address.")})


FORM_ATTRIBUTES = (
    "name",
    "key",
    "language",
    "title",
    "intro",
    "submit_label",
    "thank_you_text",
    "redirect_url",
    "campaign",
    "lead_source",
    "is_active",
)


def _apply(form: LeadForm, data: Mapping[str, Any]) -> LeadForm:
    unknown = set(data) - set(FORM_ATTRIBUTES) - {"fields", "consent_purposes", "allowed_origins"}
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    for attribute in FORM_ATTRIBUTES:
        if attribute in data:
            value = data[attribute]
            setattr(form, attribute, value.strip() if isinstance(value, str) else value)
    fields, purposes, origins = clean_definition(
        fields=data.get("fields", form.fields),
        consent_purposes=data.get("consent_purposes", form.consent_purposes),
        allowed_origins=data.get("allowed_origins", form.allowed_origins),
        redirect_url=form.redirect_url,
    )
    form.fields, form.consent_purposes, form.allowed_origins = fields, purposes, origins
    if not form.lead_source:
        form.lead_source = "web form"
    form.full_clean(exclude=["owner", "campaign"], validate_unique=False)
    _check_key(form.key, form.pk)
    form.save()
    return form


def _check(actor: User | None, perm: str, form: LeadForm | None = None) -> None:
    if actor is not None and not actor.has_perm(perm, form):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied


@transaction.atomic
def form_create(*, actor: User | None, **data: Any) -> LeadForm:
    """A new form (owned by the actor) from its attributes, ``fields``, ``consent_purposes``
    and ``allowed_origins`` (one origin per line)."""
    _check(actor, "marketing.add")
    form = LeadForm(owner=actor if actor is not None else None, fields=[], consent_purposes=[])
    if "fields" not in data:
        data = {**data, "fields": default_fields()}
    return _apply(form, data)


@transaction.atomic
def form_update(*, actor: User | None, form: LeadForm, **data: Any) -> LeadForm:
    """Change a form; only what is given changes."""
    _check(actor, "marketing.change_record", form)
    return _apply(form, data)


@transaction.atomic
def form_delete(*, actor: User | None, form: LeadForm) -> None:
    """Delete a form with its submissions (the leads they made stay)."""
    _check(actor, "marketing.change_record", form)
    form.delete()


# --- what the public form shows ---------------------------------------------------------------


def consent_texts(form: LeadForm) -> list[ConsentText]:
    """The current (newest) text of each purpose the form asks for, in the form's language,
    in the form's order; a purpose without a text in that language is left out."""
    if not form.consent_purposes:
        return []
    newest: dict[str, ConsentText] = {}
    texts = ConsentText.objects.filter(
        purpose__in=form.consent_purposes, language=form.language
    ).order_by("purpose", "-version")
    for text in texts:
        newest.setdefault(text.purpose, text)
    return [newest[p] for p in form.consent_purposes if p in newest]


def public_fields(form: LeadForm) -> list[dict[str, Any]]:
    """The form's fields as the visitor sees them: key, label, type, required, max length,
    choices (custom choice fields, products); in the form's language."""
    custom = custom_lead_fields()
    products: list[tuple[str, str]] | None = None
    shown = []
    with translation.override(form.language):
        for row in form.fields:
            key = row["key"]
            entry: dict[str, Any] = {"key": key, "required": bool(row.get("required"))}
            if key in LEAD_FIELDS:
                spec = LEAD_FIELDS[key]
                entry |= {"label": row.get("label") or str(spec.label), "type": spec.type}
                entry["max_length"] = spec.max_length or None
                if spec.type == "product":
                    if products is None:
                        products = [
                            (str(pk), name)
                            for pk, name in Product.objects.filter(is_active=True)
                            .order_by("name")
                            .values_list("pk", "name")[:200]
                        ]
                    entry |= {"type": "choice", "choices": products}
            elif key in custom:
                field = custom[key]
                entry |= {"label": row.get("label") or field.label, "help": field.help_text}
                entry["type"] = _custom_type(field.type)
                entry["max_length"] = 1000 if entry["type"] in ("text", "textarea") else None
                if field.choices:
                    entry["choices"] = [(c, c) for c in field.choices]
            else:  # a custom field deactivated since: no longer asked
                continue
            shown.append(entry)
    return shown


def _custom_type(kind: str) -> str:
    return {
        "number": "number",
        "money": "number",
        "date": "date",
        "boolean": "checkbox",
        "choice": "choice",
        "multi_choice": "multi",
        "url": "url",
    }.get(kind, "text")


# --- a submission -----------------------------------------------------------------------------


@dataclass
class Cleaned:
    lead: dict[str, Any]  # Lead attribute → value (non-empty only)
    custom: dict[str, Any]  # custom field key (without prefix) → stored value
    consents: list[str]  # purposes ticked (among those asked)
    shown: dict[str, Any]  # form key → what was typed, as stored with the submission


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def validate(
    form: LeadForm, data: Mapping[str, Any], *, custom: Mapping[str, CustomField] | None = None
) -> Cleaned:
    """The submission's values, or a ``ValidationError`` keyed by the form's field keys.
    ``custom``: the lead custom fields by form key, when the caller has them already."""
    errors: dict[str, list[str]] = {}
    lead: dict[str, Any] = {}
    custom_raw: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    if custom is None and any(r["key"].startswith(CUSTOM_PREFIX) for r in form.fields):
        custom = custom_lead_fields()
    custom = custom or {}
    for row in form.fields:
        key, required = row["key"], bool(row.get("required"))
        if key in LEAD_FIELDS:
            spec = LEAD_FIELDS[key]
            value = _text(data.get(key))
            if "\x00" in value:
                errors[key] = [_("This field must not contain NUL characters.")]
                continue
            if not value:
                if required:
                    errors[key] = [_("Please fill in this field.")]
                continue
            if spec.max_length and len(value) > spec.max_length:
                errors[key] = [_("At most %(n)d characters.") % {"n": spec.max_length}]
                continue
            if spec.type == "email":
                try:
                    value = normalize_email(value)
                except ValidationError:
                    errors[key] = [_("Enter a valid e-mail address, e.g. name@example.com.")]
                    continue
            elif spec.type == "url":
                if "://" not in value:
                    value = f"https://{value}"
                try:
                    URLValidator(schemes=["http", "https"])(value)
                except ValidationError:
                    errors[key] = [_("Enter a web address, e.g. www.example.com.")]
                    continue
            elif spec.type == "product":
                product = (
                    Product.objects.filter(pk=int(value), is_active=True).first()
                    if value.isdigit() and len(value) < 10
                    else None
                )
                if product is None:
                    errors[key] = [_("Choose one of the products.")]
                    continue
                shown[key] = product.name
                lead[spec.target] = product
                continue
            shown[key] = value
            lead[spec.target] = value
        elif key in custom:
            field = custom[key]
            raw = data.get(key)
            if field.type == "multi_choice":
                raw = [v for v in (raw if isinstance(raw, list) else [raw]) if v not in (None, "")]
            elif field.type == "boolean":
                raw = _text(raw) in ("1", "on", "true", "yes") or raw is True
            else:
                raw = _text(raw)
            if raw in ("", [], None) or (field.type == "boolean" and raw is False and required):
                if required:
                    errors[key] = [_("Please fill in this field.")]
                continue
            custom_raw[field.key] = raw
            shown[key] = raw
    if "phone" in lead:
        try:
            lead["phone"] = lead_services._clean_scalars({"phone": lead["phone"]})["phone"]
            shown["phone"] = lead["phone"]
        except ValidationError as exc:
            errors["phone"] = exc.messages
    custom_values: dict[str, Any] = {}
    if custom_raw:
        try:
            custom_values = _custom_only(custom_raw, custom)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, messages)
    consents = [p for p in form.consent_purposes if _ticked(data, f"consent_{p}")]
    if errors:
        raise ValidationError(errors)
    shown["consents"] = consents
    return Cleaned(lead=lead, custom=custom_values, consents=consents, shown=shown)


def _custom_only(values: dict[str, Any], custom: Mapping[str, CustomField]) -> dict[str, Any]:
    """Custom values checked by the custom-field rules, without asking for required fields
    the form does not carry (the builder makes sure it carries them)."""
    fields = [f for f in custom.values() if f.key in values]
    for field in fields:
        field.required = False  # only these rows, in memory
    return clean_custom_values("lead", values, fields=fields)


def _ticked(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value is True or str(value or "").strip().lower() in ("1", "on", "true", "yes")


def _campaign(form: LeadForm, utm: Mapping[str, str]) -> Campaign | None:
    if form.campaign_id is not None:
        return form.campaign
    code = (utm.get("utm_campaign") or "").strip()
    if not code:
        return None
    from kreis.marketing.campaigns.services import campaign_for_utm

    return campaign_for_utm(code)


def _fill(lead: Lead, cleaned: Cleaned) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """What the submission adds to an existing lead: empty fields only, nothing overwritten.
    Returns the changes for the lead service, the custom values, and the other fields set."""
    changes: dict[str, Any] = {}
    direct: list[str] = []
    for target, value in cleaned.lead.items():
        if target == "product_interest":
            if lead.product_interest_id is None:
                lead.product_interest = value
                direct.append(target)
        elif getattr(lead, target) in ("", None):
            if target in _SERVICE_FIELDS:
                changes[target] = value
            else:
                setattr(lead, target, value)
                direct.append(target)
    existing = lead.custom or {}
    custom = {k: v for k, v in cleaned.custom.items() if existing.get(k) in (None, "", [])}
    return changes, custom, direct


def _labels(form: LeadForm, custom: Mapping[str, CustomField]) -> dict[str, str]:
    """Each field's label on the form (its own, else the field's name), in the active language."""
    labels = {}
    for row in form.fields:
        key = row["key"]
        if row.get("label"):
            labels[key] = row["label"]
        elif key in LEAD_FIELDS:
            labels[key] = str(LEAD_FIELDS[key].label)
        elif key in custom:
            labels[key] = custom[key].label
    return labels


def _note(form: LeadForm, cleaned: Cleaned, *, lead: Lead | None, party, custom) -> None:
    message = cleaned.lead.get("notes", "")
    labels = _labels(form, custom)
    lines = [
        f"<li>{html.escape(labels[k])}: {html.escape(_shown(v))}</li>"
        for k, v in cleaned.shown.items()
        if k in labels and k != "message"
    ]
    body = f"<p>{html.escape(_('Web form “%(name)s” sent.') % {'name': form.name})}</p>"
    if lines:
        body += f"<ul>{''.join(lines)}</ul>"
    if message:
        body += f"<blockquote>{html.escape(message)}</blockquote>"
    activity_create(
        actor=None,
        kind=ActivityKind.NOTE,
        lead=lead,
        party=party if lead is None else None,
        subject=(_("Web form sent: %(name)s") % {"name": form.name})[:200],
        body=body,
    )


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def receive(
    form: LeadForm,
    data: Mapping[str, Any],
    *,
    ip: str | None,
    user_agent: str,
    page_url: str,
    referrer: str,
    utm: Mapping[str, str],
    visitor_uid: str | None = None,
    base_url: str | None = None,
    buffered: bool = False,
) -> FormSubmission:
    """Check and keep a sent form, what the visitor waits for (step 1 of the module doc,
    plus the download links of the form's content offers for the thank-you page). The
    submission is ``pending`` until ``process`` has done the rest. ``data``: form key →
    value, and ``consent_<purpose>`` for each consent box ticked. ``base_url``: the host the
    visitor used, for the opt-in link when no public address is configured.

    ``buffered`` (the public form): on SQLite the submission goes into the inbox file
    (``inbox``) and comes back unsaved, with its ``intake_key``; ``move_waiting`` brings it
    into the database. A form with content offers is always saved at once (its download
    links point to the submission)."""
    from kreis.marketing.offers.services import form_offers, hand_out_for_submission

    cleaned = validate(form, data)
    utm = {k: (utm.get(k) or "")[:200] for k in UTM_KEYS}
    lead_values = dict(cleaned.lead)
    if "product_interest" in lead_values:
        lead_values["product_interest"] = lead_values["product_interest"].pk
    campaign = _campaign(form, utm)
    fields = {
        "data": cleaned.shown,
        "outcome": SubmissionOutcome.PENDING,
        "payload": {
            "lead": lead_values,
            "custom": cleaned.custom,
            "consents": cleaned.consents,
            "visitor_uid": visitor_uid or "",
            "base_url": base_url or "",
        },
        "campaign_id": campaign.pk if campaign else None,
        "page_url": (page_url or "")[:1000],
        "referrer": (referrer or "")[:1000],
        "ip_address": ip or None,
        "user_agent": (user_agent or "")[:400],
        "created_at": timezone.now(),
        **utm,
    }
    if buffered and inbox.enabled() and not form_offers(form).exists():
        key = inbox.put(form.pk, json.loads(json.dumps(fields, cls=DjangoJSONEncoder)))
        return FormSubmission(form=form, intake_key=key, **fields)
    with transaction.atomic():
        submission = FormSubmission.objects.create(form=form, **fields)
        hand_out_for_submission(submission)  # none when the form has no content offers
    return submission


def move_waiting(limit: int = 500) -> list[int]:
    """Bring the submissions waiting in the inbox file into the database (one short
    transaction); returns the ids of those now pending there. Submissions of a form deleted
    meanwhile are dropped, as its stored submissions were."""
    rows = inbox.waiting(limit)
    if not rows:
        return []
    forms = set(
        LeadForm.objects.filter(pk__in={form_id for _, form_id, _ in rows}).values_list(
            "pk", flat=True
        )
    )
    wanted = {f.get("campaign_id") for _, _, f in rows} - {None}
    campaigns = set(Campaign.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    made = []
    for key, form_id, fields in rows:
        if form_id not in forms:
            continue
        fields = dict(fields)
        if fields.get("campaign_id") not in campaigns:
            fields["campaign_id"] = None
        fields["created_at"] = dt.datetime.fromisoformat(fields["created_at"])
        made.append(FormSubmission(form_id=form_id, intake_key=key, **fields))
    with transaction.atomic():
        FormSubmission.objects.bulk_create(made, ignore_conflicts=True)
    inbox.remove([key for key, _, _ in rows])
    return list(
        FormSubmission.objects.filter(
            intake_key__in=[s.intake_key for s in made], outcome=SubmissionOutcome.PENDING
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class SubmissionGone(Exception):
    """The submission to process is not (yet) visible: the job runs again shortly."""


def process(submission_id: int) -> FormSubmission | None:
    """Steps 2–7 of the module doc for a pending submission, in one transaction; ``None``
    when it was processed already. A failure rolls everything back, is kept on the submission
    (``error``, ``attempts``) and raised; the job retries, and after ``MAX_ATTEMPTS`` the
    submission counts as failed (shown on the form's page, processed again from there)."""
    try:
        with transaction.atomic():
            # Locked alone (PostgreSQL locks no outer-joined row); the form is read after.
            submission = FormSubmission.objects.select_for_update().filter(pk=submission_id).first()
            if submission is None:
                raise SubmissionGone(submission_id)
            if submission.outcome != SubmissionOutcome.PENDING:
                return None
            _process(submission)
            return submission
    except SubmissionGone:
        raise
    except Exception as exc:
        _failed(submission_id, exc)
        raise


MAX_ATTEMPTS = 5


def _failed(submission_id: int, exc: Exception) -> None:
    with transaction.atomic():
        row = FormSubmission.objects.select_for_update().filter(pk=submission_id).first()
        if row is None or row.outcome not in (SubmissionOutcome.PENDING, SubmissionOutcome.FAILED):
            return
        row.attempts += 1
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.outcome = SubmissionOutcome.FAILED
        row.save(update_fields=["attempts", "error", "outcome"])


def retry(*, actor: User | None, submission: FormSubmission) -> FormSubmission:
    """A failed submission back to pending (from the form's page): the job takes it again."""
    _check(actor, "marketing.change_record", submission.form)
    if submission.outcome != SubmissionOutcome.FAILED:
        raise ValidationError(_("Only a submission whose processing failed can be retried."))
    FormSubmission.objects.filter(pk=submission.pk).update(
        outcome=SubmissionOutcome.PENDING, attempts=0
    )
    submission.refresh_from_db()
    return submission


def _cleaned(submission: FormSubmission) -> Cleaned:
    payload = submission.payload or {}
    lead = dict(payload.get("lead") or {})
    if "product_interest" in lead:
        product = Product.objects.filter(pk=lead["product_interest"]).first()
        if product is None:
            del lead["product_interest"]
        else:
            lead["product_interest"] = product
    return Cleaned(
        lead=lead,
        custom=dict(payload.get("custom") or {}),
        consents=list(payload.get("consents") or []),
        shown=submission.data or {},
    )


def _process(submission: FormSubmission) -> None:
    form = submission.form
    cleaned = _cleaned(submission)
    custom: Mapping[str, CustomField] = {}
    if any(r["key"].startswith(CUSTOM_PREFIX) for r in form.fields):
        custom = custom_lead_fields()
    candidate = Lead(
        **{k: v for k, v in cleaned.lead.items() if k in ("email", "phone", "first_name")},
        last_name=cleaned.lead.get("last_name", ""),
        company=cleaned.lead.get("company", ""),
    )
    match = match_leads(user=None, leads=[candidate])[0]
    lead: Lead | None = None
    party = None
    if match is not None:
        lead = Lead.objects.select_for_update().get(pk=match.lead_id)
        changes, custom_values, direct = _fill(lead, cleaned)
        if changes or custom_values or direct:
            lead = lead_services.lead_update(
                actor=None, lead=lead, custom=custom_values or None, **changes
            )
        outcome = SubmissionOutcome.UPDATED
    else:
        party = matching_person(
            user=None, email=cleaned.lead.get("email", ""), phone=cleaned.lead.get("phone", "")
        )
        if party is not None:
            outcome = SubmissionOutcome.PARTY
        else:
            scalars = {k: v for k, v in cleaned.lead.items() if k in _SERVICE_FIELDS}
            lead = Lead(
                source=form.lead_source,
                language=form.language,
                territory=cleaned.lead.get("territory", ""),
                product_interest=cleaned.lead.get("product_interest"),
            )
            lead = _create_lead(lead, scalars, cleaned.custom, form)
            outcome = SubmissionOutcome.CREATED
    payload = submission.payload or {}
    submission.lead, submission.party, submission.outcome = lead, party, outcome
    submission.processed_at = timezone.now()
    submission.attempts += 1
    submission.error = ""
    submission.payload = {}
    submission.save(
        update_fields=["lead", "party", "outcome", "processed_at", "attempts", "error", "payload"]
    )
    if cleaned.consents:
        _request_consents(
            form,
            cleaned,
            lead=lead,
            party=party,
            ip=submission.ip_address,
            user_agent=submission.user_agent,
            base_url=payload.get("base_url") or None,
        )
    with translation.override(form.language):
        _note(form, cleaned, lead=lead, party=party, custom=custom)
    form_submitted.send(
        sender=LeadForm, submission=submission, visitor_uid=payload.get("visitor_uid") or None
    )


def submit(form: LeadForm, data: Mapping[str, Any], **kwargs: Any) -> FormSubmission:
    """``receive`` and ``process`` at once (the demo, the CLI, tests): the submission comes
    back processed. The public form and endpoint take a submission with ``receive`` and leave
    the rest to the job (``kreis.marketing.webforms.tasks``)."""
    submission = receive(form, data, **kwargs)
    processed = process(submission.pk)
    if processed is not None:
        processed.offer_downloads = getattr(submission, "offer_downloads", [])
        return processed
    submission.refresh_from_db()
    return submission


def _create_lead(lead: Lead, scalars: dict[str, Any], custom: dict[str, Any], form) -> Lead:
    """A new lead through the lead service (its rules, history and search entry), with the
    fields the service does not set (language, region, product) given on the same row."""
    created = lead_services.lead_create(
        actor=None,
        custom=custom or None,
        source=form.lead_source,
        **{k: v for k, v in scalars.items() if k != "source"},
    )
    extra = {
        name: getattr(lead, name)
        for name in ("language", "territory", "product_interest")
        if getattr(lead, name) not in ("", None)
    }
    if extra:
        # One UPDATE on the row just created (the creation's history row and search entry
        # do not show these fields; a save would write a second history row for nothing).
        for name, value in extra.items():
            setattr(created, name, value)
        Lead.objects.filter(pk=created.pk).update(**extra)
    return created


def _request_consents(form, cleaned: Cleaned, *, lead, party, ip, user_agent, base_url) -> None:
    from kreis.marketing.consent.services import request_consent

    for purpose in cleaned.consents:
        request_consent(
            purpose=purpose,
            channel=PURPOSE_CHANNEL[purpose],
            email=cleaned.lead.get("email", ""),
            language=form.language,
            source="form",
            lead=lead,
            party=party,
            ip=ip,
            user_agent=user_agent or "",
            base_url=base_url,
            note=str(_("Web form “%(name)s”") % {"name": form.name})[:300],
        )
