"""`reverse_int` / `{% url_int %}` give exactly what `reverse()` / `{% url %}` give."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from kreis.core.fasturls import reverse_int


@pytest.mark.parametrize(
    ("name", "args"),
    [("parties:detail", (5,)), ("parties:detail", (1234567,)), ("sales:move", (42,))],
)
def test_same_as_reverse(name, args):
    assert reverse_int(name, *args) == reverse(name, args=args)


def test_script_prefix_is_respected():
    try:
        set_script_prefix("/crm/")
        assert reverse_int("parties:detail", 7) == "/crm/parties/7/"
    finally:
        set_script_prefix("/")
    assert reverse_int("parties:detail", 7) == "/parties/7/"


def test_non_numbers_fall_back_to_reverse():
    assert reverse_int("parties:detail", "8") == reverse("parties:detail", args=["8"])
    with pytest.raises(NoReverseMatch):
        reverse_int("parties:detail", "x/y")


def test_template_tag():
    html = Template("{% load kreis %}{% url_int 'parties:detail' pk %}").render(Context({"pk": 9}))
    assert html == "/parties/9/"
