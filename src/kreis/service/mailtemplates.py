"""The e-mails Kreis writes about a complaint, and an administrator's own wording of them.

Every e-mail has a key (``MAIL_KEYS``) and the wording shipped with Kreis, two files
``templates/service/email/<key>_subject.txt`` and ``<key>_body.txt`` translated through gettext.
An active ``MailTemplate`` row for the key and the recipient's language replaces that wording
(``render_mail``). Its subject and body are Django templates, plain text (no HTML escaping),
but rendered by a sandboxed engine of their own:

- The context holds only the documented variables (``MAIL_KEYS[key].variables``), as plain
  values (``case.number``, ``case.customer`` …), never the model objects: a template cannot walk
  from a case to its owner's password hash or call a method.
- Tags that read other templates or the server's state do not exist there: ``include``,
  ``extends``, ``block`` (no loader, the loader tags are not built in), ``debug``, ``url``,
  ``csrf_token`` and ``querystring``. ``{% load %}`` knows only ``i18n`` and ``l10n`` (both
  are built in, loading them is optional). Every filter of Django's defaults may be used.
- ``validate_template`` (called by ``MailTemplate.clean``) refuses unknown keys, syntax
  errors and those tags with a message in the user's language; a row that still fails when
  rendered (it cannot, unless a template was written around the validation) falls back to the
  shipped wording, logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Library, TemplateSyntaxError, defaulttags
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

log = logging.getLogger("kreis.service")


@dataclass(frozen=True)
class MailKey:
    key: str
    label: Promise
    recipient: Promise
    # Variables besides ``case.*``: name → what it holds.
    variables: dict[str, Promise]


# What every mail may say about its case (``case.<name>``), as plain values.
CASE_VARIABLES: dict[str, Promise] = {
    "case.number": _("the case number, e.g. C-2026-000123"),
    "case.subject": _("the subject of the complaint"),
    "case.description": _("the customer's description"),
    "case.status": _("the status, in the mail's language"),
    "case.severity": _("the severity, in the mail's language"),
    "case.category": _("the category, in the mail's language"),
    "case.customer": _("the customer's name"),
    "case.contact": _("the contact person's name (may be empty)"),
    "case.owner": _("the name of the employee in charge (may be empty)"),
    "case.created_at": _("when the complaint was received (a date and time)"),
    "case.ack_due_at": _("acknowledge by (a date and time, may be empty)"),
    "case.resolve_due_at": _("resolve by (a date and time, may be empty)"),
}

MAIL_KEYS: dict[str, MailKey] = {
    mail.key: mail
    for mail in (
        MailKey(
            "acknowledgement",
            _("Acknowledgement of a new complaint"),
            _("customer"),
            {},
        ),
        MailKey(
            "reply",
            _("Reply to the customer"),
            _("customer"),
            {"message.body": _("the text of the reply")},
        ),
        MailKey(
            "closing",
            _("Closing, with the rating link"),
            _("customer"),
            {
                "url": _("the personal rating link"),
                "expires_at": _("when the rating link expires (a date and time)"),
            },
        ),
        MailKey(
            "supplier_request",
            _("Request to a supplier"),
            _("supplier"),
            {
                "supplier.name": _("the supplier's name"),
                "request.message": _("the message to the supplier"),
            },
        ),
    )
}

# The tags of Django's defaults a mail template may use: everything but what reads other
# templates, the server's state or a request.
ALLOWED_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "load",
    "lorem",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
FORBIDDEN_TAGS = ("include", "extends", "block", "debug", "url", "csrf_token", "querystring")

# The engine's built-in tag library (``Engine(builtins=[__name__])`` reads ``register``).
register = Library()
register.tags = {name: defaulttags.register.tags[name] for name in ALLOWED_TAGS}


class _MailEngine(Engine):
    # Django's own defaults would add every default tag and the loader tags again.
    default_builtins: list[str] = []


_ENGINE = _MailEngine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    autoescape=False,
    string_if_invalid="",
    libraries={"i18n": "django.templatetags.i18n", "l10n": "django.templatetags.l10n"},
    builtins=[__name__, "django.template.defaultfilters", "django.templatetags.i18n"],
)


def mail_key_choices() -> list[tuple[str, str]]:
    return [(key, str(mail.label)) for key, mail in MAIL_KEYS.items()]


def variables_of(key: str) -> dict[str, str]:
    """The variables a mail's template may use: name → description, in the active language."""
    mail = MAIL_KEYS[key]
    return {name: str(text) for name, text in {**CASE_VARIABLES, **mail.variables}.items()}


def _compile(source: str):
    return _ENGINE.from_string(source)


def template_error(source: str) -> str | None:
    """Why a subject or body cannot be used (in the active language), or None."""
    try:
        _compile(source)
    except TemplateSyntaxError as exc:
        text = str(exc)
        for tag in FORBIDDEN_TAGS:
            if f"'{tag}'" in text and ("Invalid block tag" in text or "Unclosed tag" in text):
                return gettext(
                    "The tag {%% %(tag)s %%} may not be used in an e-mail template "
                    "(it could read other templates or the server's settings)."
                ) % {"tag": tag}
        if "is not a registered tag library" in text:
            return gettext(
                "Only {%% load i18n %%} and {%% load l10n %%} may be used in an e-mail "
                "template (%(error)s)."
            ) % {"error": text}
        return gettext("The template has an error: %(error)s") % {"error": text}
    return None


def validate_template(*, key: str, subject: str, body: str) -> None:
    """Raise a ValidationError by field if the key is unknown or a template cannot be used."""
    errors: dict[str, str] = {}
    if key not in MAIL_KEYS:
        errors["key"] = gettext("Unknown e-mail %(key)s: known are %(keys)s.") % {
            "key": key,
            "keys": ", ".join(MAIL_KEYS),
        }
    for field, source in (("subject", subject), ("body", body)):
        problem = template_error(source or "")
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationError(errors)


# --- The context ----------------------------------------------------------------------------


def _name(party) -> str:
    return getattr(party, "name", "") or ""


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def case_variables(case) -> dict[str, Any]:
    """The case as a mail template sees it: plain values in the active language."""
    return {
        "number": case.number,
        "subject": case.subject,
        "description": case.description,
        "status": case.get_status_display(),
        "severity": case.get_severity_display(),
        "category": str(case.category) if case.category_id else "",
        "customer": _name(case.party) if case.party_id else "",
        "contact": _name(case.contact) if case.contact_id else "",
        "owner": _user_name(case.owner) if case.owner_id else "",
        "created_at": case.created_at,
        "ack_due_at": case.ack_due_at,
        "resolve_due_at": case.resolve_due_at,
    }


def mail_context(key: str, context: dict[str, Any]) -> dict[str, Any]:
    """Only the documented variables of ``key``, taken from the context a sender passes (the
    model objects of the shipped templates), as plain values."""
    plain: dict[str, Any] = {}
    if context.get("case") is not None:
        case = context["case"]
        plain["case"] = case if isinstance(case, dict) else case_variables(case)
    for name in MAIL_KEYS[key].variables:
        top, _dot, attribute = name.partition(".")
        if top not in context or context[top] is None:
            continue
        value = context[top]
        if attribute:
            found = value.get(attribute) if isinstance(value, dict) else getattr(value, attribute)
            plain.setdefault(top, {})[attribute] = found
        else:
            plain[top] = value
    return plain


def sample_context(key: str, case=None) -> dict[str, Any]:
    """What a preview renders: the given case (else an invented one) and invented extras,
    in the active language."""
    now = timezone.now()
    if case is None:
        example = {
            "number": f"C-{timezone.localdate().year}-000123",
            "subject": gettext("Pump leaking"),
            "description": gettext("The pump has been leaking since Monday."),
            "status": gettext("Received"),
            "severity": gettext("High"),
            "category": gettext("Product defect"),
            "customer": "Muster GmbH",
            "contact": "Erika Mustermann",
            "owner": "Max Service",
            "created_at": now,
            "ack_due_at": now + dt.timedelta(hours=4),
            "resolve_due_at": now + dt.timedelta(days=2),
        }
    else:
        example = case_variables(case)
    return {
        "case": example,
        "message": {"body": gettext("We will replace the seal free of charge.")},
        "url": "https://crm.example.com/rate/EXAMPLE",
        "expires_at": now + dt.timedelta(days=14),
        "supplier": {"name": "Lieferant AG"},
        "request": {"message": gettext("Please check the seal of batch 42.")},
    }


# --- Rendering ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    # A subject is one header line: a newline in it would be refused by the mail backend.
    return " ".join(text.split())


def shipped_source(key: str, part: str) -> str:
    """The shipped template's source text (``part``: subject or body); "" if missing."""
    try:
        template = get_template(f"service/email/{key}_{part}.txt")
    except Exception:  # a key registered before its files exist
        return ""
    return template.template.source


def render_source(key: str, subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render an administrator's subject and body against ``key``'s documented variables."""
    safe = Context(mail_context(key, context), autoescape=False)
    return _one_line(_compile(subject).render(safe)), _compile(body).render(safe)


def render_shipped(key: str, context: dict[str, Any]) -> tuple[str, str]:
    subject = render_to_string(f"service/email/{key}_subject.txt", context)
    body = render_to_string(f"service/email/{key}_body.txt", context)
    return _one_line(subject), body
