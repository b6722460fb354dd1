"""One rule for a linked party the user may not see: "Hidden party" — no name, no link — on
pages, in CSV exports and in the search, wherever the record it is linked to is visible."""

import pytest

from kreis.core.search import index_record
from kreis.parties import services
from tests.activities.factories import ActivityFactory
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.sales.factories import DealFactory

pytestmark = pytest.mark.django_db

SECRET = "Suedgeheim"


@pytest.fixture
def world(alice, north, charlie, south):
    """Alice's deal and note link to charlie's organisation and contact in team South, which
    alice may not see; charlie's contact works for alice's own organisation."""
    hidden_firm = services.party_create(
        actor=charlie, kind="organization", name=f"{SECRET} GmbH", team=south
    )
    hidden_person = services.party_create(
        actor=charlie, kind="person", last_name=f"{SECRET}mann", team=south
    )
    own_firm = services.party_create(actor=alice, kind="organization", name="Nordlicht AG")
    services.employment_set(
        actor=None, person=hidden_person, organization=own_firm, position="Einkauf"
    )
    deal = DealFactory(
        name="Rahmenvertrag",
        organization=hidden_firm,
        contact=hidden_person,
        owner=alice,
        team=north,
    )
    index_record(deal)
    note = ActivityFactory(subject="Telefonat", party=hidden_firm, owner=alice, team=north)
    return {"deal": deal, "note": note, "own_firm": own_firm, "hidden_firm": hidden_firm}


def shows_hidden_party(page: str) -> bool:
    return SECRET not in page and "Hidden party" in page


def text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/deals/{deal}/",
        "/deals/list/",
        "/deals/",
        "/activities/{note}/",
        "/activities/",
        "/parties/{own_firm}/",
    ],
)
def test_pages_show_hidden_party_instead_of_the_name(world, alice, path):
    url = path.format(deal=world["deal"].pk, note=world["note"].pk, own_firm=world["own_firm"].pk)
    response = client_for(alice).get(url)
    assert response.status_code == 200
    assert shows_hidden_party(text(response))


@pytest.mark.parametrize("path", ["/deals/list/export.csv", "/activities/export.csv"])
def test_exports_show_hidden_party_instead_of_the_name(world, alice, path):
    assert shows_hidden_party(text(client_for(alice).get(path)))


def test_search_neither_shows_nor_finds_a_hidden_linked_party(world, alice):
    client = client_for(alice)
    assert SECRET not in text(client.get("/search/", {"q": "Rahmenvertrag"}))
    assert "Rahmenvertrag" not in text(client.get("/search/", {"q": SECRET}))


def test_a_converted_leads_page_hides_the_party_it_became_when_not_visible(world, alice, north):
    lead = LeadFactory(
        owner=alice,
        team=north,
        status="converted",
        converted_organization=world["hidden_firm"],
    )
    assert shows_hidden_party(text(client_for(alice).get(f"/leads/{lead.pk}/")))


def test_whoever_may_see_the_party_sees_its_name(world, dana):
    page = text(client_for(dana).get(f"/deals/{world['deal'].pk}/"))
    assert f"{SECRET} GmbH" in page
    assert f"/parties/{world['hidden_firm'].pk}/" in page
    assert "Hidden party" not in page


def test_transactions_of_a_hidden_party_show_hidden_party(world, alice, north):
    import datetime as dt
    from decimal import Decimal

    from kreis.commerce import services as commerce

    txn = commerce.transaction_create(
        actor=None,
        party=world["hidden_firm"],
        kind="invoice",
        date=dt.date(2026, 3, 1),
        lines=[{"description": "Wartung", "quantity": Decimal(1), "unit_price": Decimal(10)}],
        owner=alice,
        team=north,
        number="RE-4711",
    )
    client = client_for(alice)
    assert shows_hidden_party(text(client.get(f"/commerce/transactions/{txn.pk}/")))
    assert shows_hidden_party(text(client.get("/commerce/transactions/")))
    assert shows_hidden_party(text(client.get("/commerce/transactions/export.csv")))
    assert shows_hidden_party(text(client.get("/search/", {"q": "RE-4711"})))
