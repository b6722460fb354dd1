"""Working the queue: who sees which items, bulk actions all or nothing and checked per item,
snooze that comes back, breach and assignee filters, the API with If-Match, the CLI."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from kreis.inbox import queries, services
from kreis.inbox.models import InboxItem, ItemStatus
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_items(deliver, customer):
    deliver("info@wexford.example", "Erste", "<q1@wexford.example>")
    deliver("info@wexford.example", "Zweite", "<q2@wexford.example>")
    return list(InboxItem.objects.order_by("pk"))


def test_other_team_sees_nothing_teammate_sees_shared(two_items, charlie, bob):
    assert queries.items_for_user(user=charlie).count() == 0
    assert queries.items_for_user(user=bob).count() == 2  # North: the party's team
    assert client_for(charlie).get(f"/inbox/{two_items[0].pk}/").status_code == 404


def test_bulk_done_is_all_or_nothing_and_checked_per_item(two_items, alice, charlie):
    foreign = InboxItem.objects.create(
        channel="email", source_type="test", source_id=1, received_at=timezone.now(),
        owner=charlie,
    )  # fmt: skip
    ids = [two_items[0].pk, two_items[1].pk, foreign.pk]
    with pytest.raises(PermissionDenied):
        services.items_bulk_update(
            actor=alice, ids=ids, change=services.Change(status=ItemStatus.DONE)
        )
    assert not InboxItem.objects.filter(status=ItemStatus.DONE).exists()
    services.items_bulk_update(
        actor=alice, ids=ids[:2], change=services.Change(status=ItemStatus.DONE)
    )
    assert InboxItem.objects.filter(status=ItemStatus.DONE).count() == 2
    assert two_items[0].changes.get().to_value == "done"


def test_snoozed_item_comes_back(two_items, alice):
    item = two_items[0]
    until = timezone.now() + dt.timedelta(hours=1)
    services.item_update(
        actor=alice, item=item, change=services.Change(status="snoozed", snoozed_until=until)
    )
    open_now = queries.item_list_for_user(user=alice, filters=queries.ItemFilters(status="open"))
    assert item not in open_now
    later = until + dt.timedelta(minutes=1)
    assert services.snoozed_wake(now=later) == 1
    item.refresh_from_db()
    assert item.status == ItemStatus.OPEN
    assert item.snoozed_until is None


def test_snooze_in_the_past_is_refused(two_items, alice):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.item_update(
            actor=alice, item=two_items[0],
            change=services.Change(status="snoozed", snoozed_until=timezone.now()),
        )  # fmt: skip


def test_breached_and_assignee_filters(two_items, alice):
    late = two_items[0]
    InboxItem.objects.filter(pk=late.pk).update(
        first_response_due_at=timezone.now() - dt.timedelta(hours=1), assignee=None
    )
    breached = queries.item_list_for_user(user=alice, filters=queries.ItemFilters(breached=True))
    assert list(breached) == [late]
    unassigned = queries.ItemFilters(assignee="unassigned")
    assert list(queries.item_list_for_user(user=alice, filters=unassigned)) == [late]
    mine = queries.item_list_for_user(user=alice, filters=queries.ItemFilters(assignee="me"))
    assert list(mine) == [two_items[1]]
    page = client_for(alice).get("/inbox/?breached=1")
    assert b"inbox-breached" in page.content
    assert b"Erste" in page.content


def test_bulk_page_assigns_and_marks_done(two_items, alice, bob, mia):
    client = client_for(mia)  # North's manager may give items to bob
    ids = [str(i.pk) for i in two_items]
    client.post("/inbox/bulk/", {"ids": ids, "action": "assign", "assignee": bob.pk})
    assert set(InboxItem.objects.values_list("assignee", flat=True)) == {bob.pk}
    client.post("/inbox/bulk/", {"ids": ids, "action": "done"})
    assert set(InboxItem.objects.values_list("status", flat=True)) == {"done"}


def test_api_list_update_with_if_match_and_bulk(two_items, alice, api_key_for):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}")
    listed = api.get("/api/v1/inbox/items?channel=email&assignee=me").json()
    assert listed["count"] == 2
    url = f"/api/v1/inbox/items/{two_items[0].pk}"
    etag = api.get(url)["ETag"]
    body = json.dumps({"answered": True, "status": "pending"})
    ok = api.patch(url, body, content_type="application/json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200
    assert ok.json()["first_responded_at"]
    stale = api.patch(url, body, content_type="application/json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    bulk = api.post(
        "/api/v1/inbox/bulk",
        json.dumps({"ids": [i.pk for i in two_items], "status": "done"}),
        content_type="application/json",
    )
    assert bulk.status_code == 200
    assert bulk.json()["changed"] == 2


def test_cli_backfill_stats_and_sla(two_items):
    InboxItem.objects.all().delete()
    out = StringIO()
    call_command("inbox", "backfill", stdout=out)
    call_command("inbox", "backfill", stdout=out)
    assert "total: 2 created" in out.getvalue()
    assert "total: 0 created" in out.getvalue()
    call_command("inbox", "sla", "--set", "email", "3", stdout=out)
    assert "email: 3 h, clock hours" in out.getvalue()
    call_command("inbox", "stats", "--json", stdout=(stats := StringIO()))
    assert json.loads(stats.getvalue())["by_status"] == {"open": 2}


def test_queue_pages_by_next_without_losing_or_repeating_items(alice, bob, north):
    # Items alice sees by more than one way (owner, team, assignee) come once, newest first.
    start = timezone.now()
    for n in range(5):
        InboxItem.objects.create(
            channel="email", source_type="test", source_id=n, subject=f"Anfrage {n}",
            received_at=start - dt.timedelta(minutes=n), owner=alice if n % 2 else bob,
            team=north, assignee=alice if n < 2 else None,
        )  # fmt: skip
    filters = queries.ItemFilters()
    first, more = queries.item_page_for_user(user=alice, filters=filters, page=1, size=2)
    second, _ = queries.item_page_for_user(user=alice, filters=filters, page=2, size=2)
    last, no_more = queries.item_page_for_user(user=alice, filters=filters, page=3, size=2)
    subjects = [item.subject for item in first + second + last]
    assert subjects == [f"Anfrage {n}" for n in range(5)]
    assert more
    assert not no_more
    page = client_for(alice).get("/inbox/")
    assert b"Anfrage 4" in page.content
    assert b"?page=2" not in page.content  # five items: one page of 50, no "next"
