"""Normalising contact data, so the same e-mail or phone number always looks the same."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from phonenumbers.phonemetadata import PhoneMetadata
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.exceptions import ValidationError as StdnumError

# What ``validate_email`` checks, split so that the domain's verdict is kept: an import
# repeats a few domains over and over, and the domain's rules (IDNA included) are the costly
# part. Same verdicts as ``validate_email`` (the validator's own regexes and domain check).
_email_domains: dict[str, bool] = {}
# The validator's own pattern, compiled here: its lazy regex went through two proxy calls
# (Django's ``SimpleLazyObject``) per address.
_USER_MATCH = re.compile(validate_email.user_regex.pattern, validate_email.user_regex.flags).match


def _valid_email(value: str) -> bool:
    if not value or "@" not in value or len(value) > 320:
        return False
    user, domain = value.rsplit("@", 1)
    if not _USER_MATCH(user):
        return False
    valid = _email_domains.get(domain)
    if valid is None:
        try:
            validate_email(f"a@{domain}")
            valid = True
        except ValidationError:
            valid = False
        if len(_email_domains) > 100_000:
            _email_domains.clear()
        _email_domains[domain] = valid
    return valid


def normalize_email(raw: str) -> str:
    """Lower-cased and validated."""
    value = raw.strip().lower()
    if not _valid_email(value):
        raise ValidationError(_("“%s” is not a valid e-mail address.") % raw.strip())
    return value


# A German number in one of the usual spellings: digits, blanks, ``/ - . ( )``, perhaps a
# leading ``+``. Read here without phonenumbers (~100 µs a number: 30 % of an import).
_PLAIN_PHONE = re.compile(r"\+?[0-9 ()/.\-]+\Z")
_NOT_DIGIT = re.compile(r"\D")
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
          "voicemail", "fixed_line", "mobile")  # fmt: skip


@lru_cache(maxsize=32)
def _german_pattern(length: int) -> re.Pattern[str] | None:
    """phonenumbers' validity of a German national number of ``length`` digits as one regex
    (``is_valid_number``: the general pattern, and any number type's, each within its possible
    lengths), so a number costs one match instead of a dozen; None: no valid number is
    this long."""
    metadata = PhoneMetadata.metadata_for_region("DE")

    def fits(desc) -> bool:
        return bool(
            desc is not None
            and desc.national_number_pattern
            and (not desc.possible_length or length in desc.possible_length)
        )

    general = metadata.general_desc
    types = [getattr(metadata, name) for name in _TYPES]
    alternatives = [d.national_number_pattern for d in types if fits(d)]
    if not fits(general) or not alternatives:
        return None
    either = "|".join(f"(?:{a})" for a in alternatives)
    return re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{either})\\Z")


def _german_e164(raw: str, region: str) -> str | None:
    """E.164 of a valid German number in a common spelling (``030/1234567``, ``+49 (0)30 …``,
    ``0049 30 …``, ``0171-…``), else None: phonenumbers then decides (and words the error)."""
    text = raw.strip()
    if not _PLAIN_PHONE.match(text):
        return None
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        if not digits.startswith("49"):
            return None
        national = digits[2:]
    elif digits.startswith("00"):
        if not digits.startswith("0049"):
            return None
        national = digits[4:]
    elif region == "DE" and digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if national.startswith("0"):  # the trunk prefix after the country code: "+49 (0)30"
        national = national[1:]
    if not 4 <= len(national) <= 15 or national.startswith("0"):
        return None
    pattern = _german_pattern(len(national))
    return f"+49{national}" if pattern is not None and pattern.match(national) else None


def normalize_phone(raw: str, region: str | None = None) -> str:
    """E.164 (``+4930123456``); numbers without a country code are read in the default region."""
    region = region or settings.KREIS_PHONE_REGION
    fast = _german_e164(raw, region)
    if fast is not None:
        return fast
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


def dial_string(number: str) -> str:
    """What a ``tel:`` link dials: the digits and the dial characters ``+*#,;`` of a number."""
    return "".join(ch for ch in number if ch.isdigit() or ch in "+*#,;")


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
