"""Pieces every list page shares (core/templatetags/kreis_lists.py) give the markup the
template loops gave."""

import pytest
from django.template import engines

from kreis.core.queries import user_list_for_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOOP = (
    '{% for person in users %}<option value="{{ person.pk }}"{% if person.pk == selected %}'
    " selected{% endif %}>{{ person }}</option>{% endfor %}"
)
TAG = "{% load kreis_lists %}{% user_options users selected %}"


def _render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_user_options_are_what_the_loop_gave(alice, bob):
    UserFactory(username="x<y>", first_name="", last_name="")
    UserFactory(first_name='Jörg "J" & Co', last_name="<b>Ä</b>")
    users = list(user_list_for_user(user=alice))
    for selected in (None, bob.pk, 10**9, ""):
        expected = _render(LOOP, users=users, selected=selected)
        assert _render(TAG, users=users, selected=selected) == expected
    assert "selected>Bob Becker</option>" in _render(TAG, users=users, selected=bob.pk)
    assert "&lt;b&gt;" in expected
    assert _render(TAG, users=[], selected=None) == ""


def test_user_options_leave_out_what_a_caller_prefetched(alice, bob, django_assert_num_queries):
    expected = _render(LOOP, users=list(user_list_for_user(user=alice)), selected=None)
    users = user_list_for_user(user=alice)  # prefetches memberships with their teams
    with django_assert_num_queries(1):
        assert _render(TAG, users=users, selected=None) == expected
