"""Sending a complaint's e-mails: where the customer's mail goes, and the wording
(``kreis.service.mailtemplates``: an administrator's ``MailTemplate`` first, else the shipped
files) rendered in the recipient's language and sent after the commit."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from kreis.parties.models import ContactKind, ContactPoint
from kreis.service.mailtemplates import (
    render_shipped,
    render_source,
    sample_context,
    validate_template,
)
from kreis.service.models import Case, MailTemplate

log = logging.getLogger("kreis.service")


def customer_email(case: Case) -> str:
    """Where the customer's mail goes: the contact person's address, else the party's."""
    for party in (case.contact, case.party):
        if party is None:
            continue
        value = (
            ContactPoint.objects.filter(party=party, kind=ContactKind.EMAIL)
            .order_by("-is_primary", "pk")
            .values_list("value", flat=True)
            .first()
        )
        if value:
            return value
    return ""


def send_customer_mail(case: Case, *, template: str, extra: dict | None = None) -> str:
    """Render the customer's mail in their language; sent after the commit. Returns the body
    (kept as the reply in the case's timeline)."""
    to = customer_email(case)
    subject, body = render_mail(template, {"case": case, **(extra or {})}, case.language)
    if to:
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
        )
    return body


def render_mail(key: str, context: dict[str, Any], language: str) -> tuple[str, str]:
    """Subject and body of mail ``key`` in ``language``: the active ``MailTemplate`` of key
    and language when there is one, else the wording shipped with Kreis."""
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        own = MailTemplate.objects.filter(key=key, language=language, is_active=True).first()
        if own is not None:
            try:
                return render_source(key, own.subject, own.body, context)
            except Exception:
                log.exception("E-mail template %s could not be rendered; shipped text used", own)
        return render_shipped(key, context)


def preview(
    *, key: str, language: str, subject: str | None = None, body: str | None = None, case=None
) -> tuple[str, str]:
    """A mail as the recipient would get it, against ``case`` (else an invented one): the
    given subject and body, else the active template of key and language, else the shipped
    wording. Raises ValidationError for a template that cannot be used."""
    with translation.override(language):
        context = sample_context(key, case)
        if subject is None or body is None:
            own = MailTemplate.objects.filter(key=key, language=language, is_active=True).first()
            if own is None:
                return render_shipped(key, context)
            subject = own.subject if subject is None else subject
            body = own.body if body is None else body
        validate_template(key=key, subject=subject, body=body)
        try:
            return render_source(key, subject, body, context)
        except Exception as exc:  # e.g. a filter given an argument it cannot use
            message = gettext("The template has an error: %(error)s") % {"error": exc}
            raise ValidationError({"body": message}) from exc
