"""The call-list pages ask the database a fixed number of questions, however many entries the
list holds or the page shows."""

from __future__ import annotations

import pytest

from kreis.calls import services
from kreis.calls.models import CallResult
from kreis.marketing.models import Segment, SegmentKind, SegmentMember
from kreis.parties.models import ContactPoint, Party
from tests.calls.conftest import consent
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _list_of(n, *, mia, bob, alice):
    """A list of ``n`` persons with a number and a phone consent; bob has called three of them
    and holds the fourth."""
    segment = Segment.objects.create(name=f"Messe {n}", kind=SegmentKind.STATIC, owner=alice)
    for i in range(n):
        party = Party.objects.create(kind="person", name=f"Person {i:03d}", owner=alice)
        ContactPoint.objects.create(party=party, kind="phone", value=f"+49301{i:06d}")
        consent(party)
        SegmentMember.objects.create(segment=segment, party=party)
    call_list = services.call_list_create(
        actor=mia, name=f"Liste {n}", segment=segment, assignees=[bob]
    ).call_list
    for result in (CallResult.REACHED, CallResult.NO_ANSWER, CallResult.CALL_BACK):
        entry = services.entry_claim_next(actor=bob, call_list=call_list)
        if result == CallResult.CALL_BACK:
            services.entry_log(
                actor=bob, entry=entry, result=result, call_back_at=entry.due_at.replace(year=2099)
            )
        else:
            services.entry_log(actor=bob, entry=entry, result=result)
    services.entry_claim_next(actor=bob, call_list=call_list)
    return call_list


def _count(client, url, django_assert_max_num_queries, limit=40):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["/calls/lists/{pk}/", "/calls/lists/{pk}/work/"])
def test_list_pages_ask_the_same_whatever_the_number_of_entries(
    page, mia, bob, alice, django_assert_max_num_queries
):
    small = _list_of(5, mia=mia, bob=bob, alice=alice)
    big = _list_of(50, mia=mia, bob=bob, alice=alice)
    client = client_for(bob)
    few = _count(client, page.format(pk=small.pk), django_assert_max_num_queries)
    many = _count(client, page.format(pk=big.pk), django_assert_max_num_queries)
    assert many == few
