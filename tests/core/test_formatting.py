"""Money, numbers and dates follow the user's language; EUR is the default currency."""

from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation


@pytest.mark.parametrize(("language", "expected"), [("de", "1.234,50\xa0€"), ("en", "€1,234.50")])
def test_money_is_formatted_per_locale(language, expected):
    with translation.override(language):
        assert (
            Template("{% load kreis %}{{ v|money }}").render(Context({"v": Decimal("1234.5")}))
            == expected
        )


def test_other_currency_can_be_named():
    with translation.override("de"):
        out = Template("{% load kreis %}{{ v|money:'CHF' }}").render(Context({"v": 10}))
    assert "CHF" in out


def test_dates_follow_the_language():
    template = Template('{{ d|date:"SHORT_DATE_FORMAT" }}')
    with translation.override("de"):
        assert template.render(Context({"d": date(2026, 3, 1)})) == "01.03.2026"
    with translation.override("en"):
        assert template.render(Context({"d": date(2026, 3, 1)})) == "03/01/2026"
