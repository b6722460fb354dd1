"""A custom field's help text is the administrator's plain text: shown as text on every form."""

import pytest

from kreis.core import services as core_services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MARKUP = '<img src="x" onerror="alert(1)"><b>bold</b>'


@pytest.mark.parametrize(
    ("entity", "form_url"),
    [
        ("party", "/parties/new/organization/"),
        ("party", "/parties/new/person/"),
        ("deal", "/deals/new/"),
        ("lead", "/leads/new/"),
    ],
)
def test_custom_field_help_text_is_escaped_on_the_form(dana, alice, entity, form_url):
    core_services.custom_field_create(
        actor=dana, entity=entity, key="hint", label="Hint", type="text", help_text=MARKUP
    )
    page = client_for(alice).get(form_url).content.decode()
    assert 'name="cf_hint"' in page
    assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(1)&quot;&gt;&lt;b&gt;bold" in page
    assert '<img src="x"' not in page
    assert "<b>bold</b>" not in page
