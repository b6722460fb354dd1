"""Relationship types on the party list, and undoing an application: every customer's previous
type, owner and team come back, except where someone changed them since."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kreis.marketing.relationships import services
from kreis.marketing.relationships.models import (
    PartyRelationshipType,
    RelationshipApplyRun,
)
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.marketing.test_relationship_types import customers, owners, rtype, static_segment

pytestmark = pytest.mark.django_db

__all__ = ["customers"]  # the fixture, shared


def types(parties):
    links = dict(
        PartyRelationshipType.objects.filter(party__in=parties).values_list(
            "party_id", "relationship_type_id"
        )
    )
    return [links.get(p.pk) for p in parties]


def test_undo_restores_previous_types_and_owners(dana, alice, mia, north, customers):
    Party.objects.filter(pk=customers[0].pk).update(owner=alice)
    online = rtype(static_segment("Online", customers[2:]), ownership="team", team=north)
    services.relationship_types_apply(actor=dana)
    assert types(customers) == [None, None, online.pk, online.pk]
    key = rtype(static_segment("Key", customers[:3]), ownership="named", owner=mia, priority=50)
    result = services.relationship_types_apply(actor=dana)
    run = result.run
    assert run is not None
    assert run.changed == 3
    assert owners(customers) == [mia.pk, mia.pk, mia.pk, None]
    assert types(customers) == [key.pk, key.pk, key.pk, online.pk]

    undone = services.relationship_apply_undo(actor=dana, run=run)

    assert (undone.restored, undone.skipped) == (3, 0)
    assert owners(customers) == [alice.pk, None, None, None]
    assert types(customers) == [None, None, online.pk, online.pk]
    last = Party.history.filter(id=customers[0].pk).order_by("-history_id").first()
    assert last.history_user == dana
    assert "Undone" in last.history_change_reason
    with pytest.raises(Exception, match="undone already"):
        services.relationship_apply_undo(actor=dana, run=run)


def test_undo_skips_customers_changed_since_and_counts_them(dana, alice, mia, customers):
    rtype(static_segment("Key", customers[:3]), ownership="named", owner=mia)
    run = services.relationship_types_apply(actor=dana).run
    Party.objects.filter(pk=customers[1].pk).update(owner=alice)  # a rep took one over
    undone = services.relationship_apply_undo(actor=dana, run=run)
    assert (undone.restored, undone.skipped) == (2, 1)
    assert owners(customers[:3]) == [None, alice.pk, None]
    # The one changed since keeps its type as well as its new owner.
    assert types(customers[:3])[1] is not None
    run.refresh_from_db()
    assert (run.restored, run.skipped) == (2, 1)


def test_an_application_that_changes_nothing_keeps_no_run(dana, mia, customers):
    rtype(static_segment("Key", customers[:1]), ownership="named", owner=mia)
    services.relationship_types_apply(actor=dana)
    assert services.relationship_types_apply(actor=dana).run is None
    assert services.relationship_types_apply(actor=dana, dry_run=True).run is None
    assert RelationshipApplyRun.objects.count() == 1


def test_undo_button_on_the_page_and_reps_may_not(dana, alice, mia, customers):
    rtype(static_segment("Key", customers[:2]), ownership="named", owner=mia)
    run = services.relationship_types_apply(actor=dana).run
    page = client_for(dana).get(reverse("marketing:relationships:list")).content.decode()
    undo_url = reverse("marketing:relationships:run_undo", args=[run.pk])
    assert undo_url in page
    assert client_for(alice).post(undo_url).status_code in (403, 404)
    response = client_for(dana).post(undo_url, follow=True)
    assert "2 customers restored" in response.content.decode()
    assert owners(customers[:2]) == [None, None]
    page = client_for(dana).get(reverse("marketing:relationships:list")).content.decode()
    assert undo_url not in page
    assert "2 restored, 0 skipped" in page


def test_undo_through_the_api_and_the_cli(dana, mia, customers, api_key_for, client):
    rtype(static_segment("Key", customers[:2]), ownership="named", owner=mia)
    first = services.relationship_types_apply(actor=dana).run
    headers = {"Authorization": f"Bearer {api_key_for(dana)}"}
    listed = client.get("/api/v1/marketing/relationship-types/applications", headers=headers).json()
    assert [r["id"] for r in listed["items"]] == [first.pk]
    answer = client.post(
        f"/api/v1/marketing/relationship-types/applications/{first.pk}/undo", headers=headers
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"restored": 2, "skipped": 0, "skipped_type_deleted": 0}
    assert client.post(
        f"/api/v1/marketing/relationship-types/applications/{first.pk}/undo", headers=headers
    ).status_code in (400, 409, 422)
    second = services.relationship_types_apply(actor=dana).run
    out = StringIO()
    call_command("marketing", "relationship-types", "runs", stdout=out)
    assert str(second.pk) in out.getvalue()
    out = StringIO()
    call_command("marketing", "relationship-types", "undo", str(second.pk), stdout=out)
    assert "2 restored, 0 skipped" in out.getvalue()
    assert owners(customers[:2]) == [None, None]


def test_party_list_shows_the_type_and_offers_it_as_a_filter(dana, mia, customers):
    key = rtype(
        static_segment("Key", customers[:1]),
        name_de="Schlüsselkunde",
        name_en="Key account",
        ownership="named",
        owner=mia,
    )
    services.relationship_types_apply(actor=dana)
    client = client_for(dana)
    text = client.get(reverse("parties:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Relationship type" in text
    assert "Key account" in text
    assert 'data-testid="select-filter-relationship_type"' in text
    assert f'<option value="{key.pk}">Key account</option>' in text
    filtered = client.get(reverse("parties:list") + f"?relationship_type={key.pk}")
    body = filtered.content.decode()
    assert "Kunde 0" in body
    assert "Kunde 1" not in body
    assert f'<option value="{key.pk}" selected>' in body


def test_party_list_reads_the_types_in_the_same_query_whatever_the_page_size(dana, mia, customers):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    services.relationship_types_apply(actor=dana)
    client = client_for(dana)
    client.get(reverse("parties:list"))  # warm the caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("parties:list"))
    for i in range(10):
        Party.objects.create(kind="organization", name=f"Mehr {i}")
    rtype(static_segment("All", list(Party.objects.all())), ownership="named", owner=mia)
    services.relationship_types_apply(actor=dana)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("parties:list"))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert sum("marketing_partyrelationshiptype" in q["sql"] for q in many.captured_queries) == 1
