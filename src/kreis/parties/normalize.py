"""Normalising contact data, so the same e-mail or phone number always looks the same."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError as StdnumError


def normalize_email(raw: str) -> str:
    """Lower-cased and validated."""
    value = raw.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("“%s” is not a valid e-mail address.") % raw.strip()) from None
    return value


def normalize_phone(raw: str, region: str | None = None) -> str:
    """E.164 (``+4930123456``); numbers without a country code are read in the default region."""
    region = region or settings.KREIS_PHONE_REGION
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%s” is not a phone number.") % raw.strip()) from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%s” is not a valid phone number.") % raw.strip())
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """For display: international format, e.g. ``+49 30 123456``."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_vat_id(raw: str) -> str:
    """A European VAT ID (e.g. German ``DE`` + 9 digits), check digit verified."""
    if not raw.strip():
        return ""
    try:
        return stdnum_vat.validate(raw)
    except StdnumError:
        raise ValidationError(_("“%s” is not a valid VAT ID.") % raw.strip()) from None


def normalize_iban(raw: str) -> str:
    if not raw.strip():
        return ""
    try:
        return stdnum_iban.validate(raw)
    except StdnumError:
        raise ValidationError(_("“%s” is not a valid IBAN.") % raw.strip()) from None
