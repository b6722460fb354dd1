"""Applying relationship types is all or nothing; undo says which customers it left because
their previous type was deleted; the applications and their changes in the Django admin."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from kreis.marketing.relationships import services, tasks
from kreis.marketing.relationships.models import (
    PartyRelationshipType,
    RelationshipApplyChange,
    RelationshipApplyRun,
    RelationshipType,
)
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.marketing.test_relationship_types import customers, owners, rtype, static_segment

pytestmark = pytest.mark.django_db

__all__ = ["customers"]  # the fixture, shared


class Crash(RuntimeError):
    pass


def crash_after_first_batch(monkeypatch):
    """Batches of one customer; the second batch's write raises (after the first was written)."""
    monkeypatch.setattr(services, "BATCH", 1)
    real = services._write_moves
    calls = []

    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Crash("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_write_moves", write)
    return calls


def snapshot(parties):
    return {
        "owners": owners(parties),
        "teams": [Party.objects.get(pk=p.pk).team_id for p in parties],
        "links": PartyRelationshipType.objects.count(),
        "history": Party.history.count(),
        "runs": RelationshipApplyRun.objects.count(),
        "changes": RelationshipApplyChange.objects.count(),
    }


def test_a_crash_after_the_first_batch_leaves_no_change_and_no_application(
    dana, mia, north, customers, monkeypatch
):
    key = rtype(static_segment("Key", customers), ownership="named", owner=mia, team=north)
    before = snapshot(customers)
    calls = crash_after_first_batch(monkeypatch)

    with pytest.raises(Crash):
        services.relationship_types_apply(actor=dana)

    assert len(calls) == 2  # the first batch was written before the crash
    assert snapshot(customers) == before
    assert owners(customers) == [None, None, None, None]
    key.refresh_from_db()
    assert key.applied_at is None
    # Once the cause is gone, the next application moves everyone and can be undone.
    monkeypatch.undo()
    result = services.relationship_types_apply(actor=dana)
    assert result.changed == 4
    assert result.run.changes.count() == 4


def test_the_nightly_job_crashing_halfway_changes_nothing_and_reports_the_failure(
    dana, mia, customers, monkeypatch
):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    before = snapshot(customers)
    crash_after_first_batch(monkeypatch)

    with pytest.raises(Crash):
        tasks.run_apply()

    assert snapshot(customers) == before
    progress = tasks.progress_get()
    assert progress["state"] == "failed"
    assert "disk full" in progress["error"]


def test_a_crash_in_the_undo_record_also_rolls_back_the_owner_changes(
    dana, mia, customers, monkeypatch
):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    before = snapshot(customers)

    def broken(**kwargs):
        raise Crash("record")

    monkeypatch.setattr(services, "_record_run", broken)
    with pytest.raises(Crash):
        services.relationship_types_apply(actor=dana)
    assert snapshot(customers) == before


def test_the_dry_run_still_counts_in_batches(dana, mia, customers, monkeypatch):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    monkeypatch.setattr(services, "BATCH", 1)
    seen = []
    result = services.relationship_types_apply(
        actor=dana, dry_run=True, progress=lambda done, total: seen.append((done, total))
    )
    assert result.changed == 4
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert owners(customers) == [None, None, None, None]


@pytest.fixture
def replaced_then_deleted(dana, mia, north, customers):
    """An application that replaced "Online" by "Key" on customers 0-1, and moved customer 2
    (no type before) to mia; then "Online" is deleted."""
    online = rtype(static_segment("Online", customers[:2]), ownership="team", team=north)
    services.relationship_types_apply(actor=dana)
    key = rtype(static_segment("Key", customers[:3]), ownership="named", owner=mia, priority=50)
    run = services.relationship_types_apply(actor=dana).run
    assert run.changed == 3
    services.relationship_type_delete(actor=dana, relationship_type=online)
    return run, key


def test_undo_skips_and_counts_customers_whose_previous_type_was_deleted(
    dana, mia, north, customers, replaced_then_deleted
):
    run, key = replaced_then_deleted
    undone = services.relationship_apply_undo(actor=dana, run=run)
    assert (undone.restored, undone.skipped, undone.skipped_type_deleted) == (1, 2, 2)
    # The two keep the type and owner they have; they are not left with no type.
    links = dict(PartyRelationshipType.objects.values_list("party_id", "relationship_type_id"))
    assert links.get(customers[0].pk) == key.pk
    assert links.get(customers[1].pk) == key.pk
    assert owners(customers[:3]) == [mia.pk, mia.pk, None]
    run.refresh_from_db()
    assert (run.restored, run.skipped, run.skipped_type_deleted) == (1, 2, 2)


def test_the_user_reads_the_reason_in_the_message_and_on_the_list(
    dana, customers, replaced_then_deleted
):
    run, _ = replaced_then_deleted
    client = client_for(dana)
    url = reverse("marketing:relationships:run_undo", args=[run.pk])
    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    text = response.content.decode()
    assert "1 customer restored." in text
    assert (
        "2 customers were left as they are because their previous relationship type has been "
        "deleted." in text
    )
    assert "changed since was left" not in text
    assert "changed since were left" not in text
    page = client.get(
        reverse("marketing:relationships:list"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "1 restored, 2 skipped" in page
    assert "2 because their previous type was deleted" in page


def test_the_message_in_german(dana, customers, replaced_then_deleted):
    run, _ = replaced_then_deleted
    client = client_for(dana)
    url = reverse("marketing:relationships:run_undo", args=[run.pk])
    text = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "weil ihr bisheriger Beziehungstyp gelöscht wurde" in text


def test_the_api_and_the_cli_give_the_count_and_the_reason(
    dana, customers, replaced_then_deleted, api_key_for, client
):
    run, _ = replaced_then_deleted
    headers = {"Authorization": f"Bearer {api_key_for(dana)}"}
    answer = client.post(
        f"/api/v1/marketing/relationship-types/applications/{run.pk}/undo", headers=headers
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"restored": 1, "skipped": 2, "skipped_type_deleted": 2}
    listed = client.get("/api/v1/marketing/relationship-types/applications", headers=headers)
    assert listed.json()["items"][0]["skipped_type_deleted"] == 2


def test_the_cli_names_the_reason(dana, customers, replaced_then_deleted):
    run, _ = replaced_then_deleted
    out = StringIO()
    call_command("marketing", "relationship-types", "undo", str(run.pk), stdout=out)
    assert "1 restored, 2 skipped (0 changed since, 2 previous type deleted)" in out.getvalue()


def test_a_deleted_type_the_run_did_not_replace_is_no_reason_to_skip(
    dana, alice, mia, north, customers
):
    """The run only moved the owner; the type, the same before and after, is deleted since:
    undo gives the owner back (the customer has no type either way)."""
    Party.objects.filter(pk=customers[0].pk).update(owner=alice)
    online = rtype(static_segment("Online", customers[:1]), ownership="team", team=north)
    run = services.relationship_types_apply(actor=dana).run
    assert owners(customers[:1]) == [None]
    RelationshipType.objects.filter(pk=online.pk).update(ownership="named", owner=mia)
    second = services.relationship_types_apply(actor=dana).run
    assert run is not None
    assert second is not None
    services.relationship_type_delete(actor=dana, relationship_type=online)
    undone = services.relationship_apply_undo(actor=dana, run=second)
    assert (undone.restored, undone.skipped_type_deleted) == (1, 0)
    assert owners(customers[:1]) == [None]


def test_the_admin_lists_applications_and_their_changes_read_only(
    dana, customers, replaced_then_deleted
):
    run, _ = replaced_then_deleted
    services.relationship_apply_undo(actor=dana, run=run)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    runs = "/django-admin/marketing/relationshipapplyrun/"
    changes = "/django-admin/marketing/relationshipapplychange/"
    page = client.get(runs).content.decode()
    assert "Dana Dorn" in page or "dana" in page
    assert "undone" in page.lower()
    assert 'href="?applied_at' in page or "applied_at__gte" in page  # a date filter
    assert "Add relationship type application" not in page
    detail = client.get(f"{runs}{run.pk}/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert f"{changes}?run__id__exact={run.pk}" in body
    assert 'name="_save"' not in body  # read-only: nothing to save
    listed = client.get(f"{changes}?run__id__exact={run.pk}")
    assert listed.status_code == 200
    assert "Kunde 0" in listed.content.decode()
    assert "3 relationship type changes" in listed.content.decode() or "3 total" in (
        listed.content.decode()
    )
    assert client.get(f"{changes}?type_replaced__exact=1").status_code == 200
    assert client.get(f"{runs}?undone_at__isempty=0").status_code == 200
    assert client.post(f"{runs}{run.pk}/delete/").status_code == 403
    assert client.get(f"{changes}add/").status_code == 403
