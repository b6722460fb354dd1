"""The fast readings of e-mail addresses and German phone numbers give what the slow,
general ones (Django's ``validate_email``, phonenumbers) give — for every spelling an
import meets, and for random digits around the edges of the German numbering plan."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from kreis.parties import normalize
from kreis.parties.normalize import normalize_email, normalize_phone


def _slow_phone(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "DE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _spellings(rng: random.Random) -> list[str]:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 16)))
    area = rng.choice(["30", "89", "221", "40", "711", "911", "341", "351", "69", "171",
                       "151", "1523", "800", "180", "700", "900", "32", "4930", "1"])  # fmt: skip
    number = f"{rng.randint(0, 99_999_999):0{rng.randint(3, 9)}d}"
    return [
        digits,
        f"0{digits}",
        f"+{digits}",
        f"+49{digits}",
        f"0049 {digits}",
        f"0{area}/{number}",
        f"+49 {area} {number}",
        f"(0{area}) {number[:3]} {number[3:5]} {number[5:]}",
        f"0049 (0){area} {number}",
        f"+49 (0){area}-{number}",
        f"+49-{area}-{number}",
        f"0{area} {number}",
        f"0{area}.{number}",
        f" +49 0{area} {number} ",
        f"+44 20 7946 {number[:4]}",
        f"00{area}{number}",
    ]


def test_fast_phone_reading_agrees_with_phonenumbers(settings):
    settings.KREIS_PHONE_REGION = "DE"
    rng = random.Random(11)
    fast = 0
    for _ in range(6000):
        for raw in _spellings(rng):
            expected = _slow_phone(raw)
            if normalize._german_e164(raw, "DE") is not None:
                fast += 1
            if expected is None:
                with pytest.raises(ValidationError):
                    normalize_phone(raw)
            else:
                assert normalize_phone(raw) == expected, raw
    assert fast > 20_000  # the common spellings do take the fast way


def test_phone_errors_keep_their_words():
    with pytest.raises(ValidationError, match="is not a valid phone number"):
        normalize_phone("12")
    with pytest.raises(ValidationError, match="is not a phone number"):
        normalize_phone("phone")


@pytest.mark.parametrize(
    "raw",
    ["anna@example.de", " Anna.Müller@Example.DE ", "a@b", "a b@example.de", "a@localhost",
     "x@[127.0.0.1]", "x@[999.0.0.1]", "a..b@example.de", ".a@example.de", "a@-x.de",
     "a@bücher.de", "a@x_y.de", "", "@", "a@", "@b.de", "a@b.c", "a" * 64 + "@example.de",
     "a@" + "b" * 64 + ".de", "\"a b\"@example.de", "a@example.de.", "user+tag@example.co.uk"],
)  # fmt: skip
def test_fast_email_check_agrees_with_django(raw):
    value = raw.strip().lower()
    try:
        validate_email(value)
        expected = value
    except ValidationError:
        expected = None
    for _twice in range(2):  # the second time from the domain's cached verdict
        if expected is None:
            with pytest.raises(ValidationError):
                normalize_email(raw)
        else:
            assert normalize_email(raw) == expected
