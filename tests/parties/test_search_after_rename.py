"""After an organisation is renamed, the search shows and finds its deals and employees under
the new name only."""

import pytest

from kreis.core.search import index_record
from kreis.parties import services
from tests.conftest import client_for
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db


def search_page(user, text: str) -> str:
    return client_for(user).get("/search/", {"q": text}).content.decode()


def test_renamed_organisation_leaves_no_old_name_in_deal_and_employee_entries(
    alice, north, django_capture_on_commit_callbacks
):
    firm = services.party_create(actor=alice, kind="organization", name="Altwerk GmbH")
    person = services.party_create(actor=alice, kind="person", last_name="Ahrens")
    services.employment_set(actor=alice, person=person, organization=firm, position="CEO")
    deal = DealFactory(name="Rahmenvertrag", organization=firm, owner=alice, team=north)
    index_record(deal)
    before = search_page(alice, "Altwerk")
    assert "Rahmenvertrag" in before
    assert "Ahrens" in before

    with django_capture_on_commit_callbacks(execute=True):
        services.party_update(actor=alice, party=firm, name="Neuwerk AG")

    old = search_page(alice, "Altwerk")
    assert "Rahmenvertrag" not in old
    assert "Ahrens" not in old
    new = search_page(alice, "Neuwerk")
    assert "Rahmenvertrag" in new
    assert "Ahrens" in new
    assert "Altwerk" not in new  # no subtitle keeps the old name
