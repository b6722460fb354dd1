"""The party pages ask the database a fixed number of questions, however many rows they show."""

import pytest

from kreis.parties import services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _fill(actor, n):
    firm = services.party_create(actor=actor, kind="organization", name="Zentrale AG")
    for i in range(n):
        person = services.party_create(
            actor=actor,
            kind="person",
            last_name=f"Person {i}",
            emails=[{"value": f"p{i}@example.de"}],
            roles=["customer"],
            tags=["VIP"],
        )
        services.employment_set(actor=actor, person=person, organization=firm)
    return firm


def _count(client, url, django_assert_max_num_queries, limit=60):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/parties/", "/parties/?page=2", "/parties/?role=customer"])
def test_list_queries_do_not_grow_with_rows(alice, url, django_assert_max_num_queries):
    _fill(alice, 3)
    client = client_for(alice)
    few = _count(client, url.replace("page=2", "page=1"), django_assert_max_num_queries)
    _fill(alice, 30)
    many = _count(client, url, django_assert_max_num_queries)
    assert many == few


def test_party_page_queries_do_not_grow_with_staff(alice, django_assert_max_num_queries):
    firm = _fill(alice, 2)
    client = client_for(alice)
    few = _count(client, f"/parties/{firm.pk}/", django_assert_max_num_queries)
    for i in range(15):
        person = services.party_create(actor=alice, kind="person", last_name=f"Neu {i}")
        services.employment_set(actor=alice, person=person, organization=firm)
    many = _count(client, f"/parties/{firm.pk}/", django_assert_max_num_queries)
    assert many == few
