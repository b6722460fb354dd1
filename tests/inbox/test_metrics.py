"""The unified inbox's first-response figures per channel and team, as the channel metrics page
and API show them to managers: received, answered, average first response, SLA met."""

import datetime as dt

from django.test import Client
from django.utils import timezone

from kreis.inbox.metrics import first_response_metrics
from kreis.inbox.models import InboxItem


def _item(n, *, channel, team, received, due_hours=None, answered_hours=None, assigned_team=None):
    return InboxItem.objects.create(
        channel=channel, source_type="test.item", source_id=n, subject=f"Anfrage {n}",
        received_at=received, team=team, assigned_team=assigned_team,
        first_response_due_at=received + dt.timedelta(hours=due_hours) if due_hours else None,
        first_responded_at=received + dt.timedelta(hours=answered_hours)
        if answered_hours is not None else None,
    )  # fmt: skip


def test_first_response_times_and_sla_per_team_and_channel(db, north, south, mia, dana):
    received = timezone.now() - dt.timedelta(days=2)
    _item(1, channel="email", team=north, received=received, due_hours=8, answered_hours=2)
    _item(2, channel="email", team=north, received=received, due_hours=8, answered_hours=12)
    _item(3, channel="email", team=north, received=received, due_hours=8)  # unanswered, overdue
    # Assigned to South: counts for South, although North may see it.
    _item(4, channel="social", team=north, received=received, answered_hours=5, assigned_team=south)
    _item(
        5,
        channel="email",
        team=north,
        received=received - dt.timedelta(days=60),
        due_hours=8,
        answered_hours=1,
    )  # fmt: skip  (before the period)
    today = timezone.localdate()
    rows, overall = first_response_metrics(start=today - dt.timedelta(days=29), end=today)
    by = {(r.team, r.channel): r for r in rows}
    mail = by[("North", "email")]
    assert (mail.received, mail.responded, mail.avg_first_response_hours) == (3, 2, 7.0)
    assert (mail.sla_met, mail.sla_breached, mail.sla_met_percent) == (1, 2, 33.3)
    social = by[("South", "social")]
    assert (social.received, social.responded, social.sla_met_percent) == (1, 1, None)
    assert [(r.channel, r.received) for r in overall] == [("email", 3), ("social", 1)]
    only_north, _ = first_response_metrics(start=today - dt.timedelta(days=29), end=today,
                                           teams={north.pk})  # fmt: skip
    assert {r.team for r in only_north} == {"North"}

    client = Client()
    client.force_login(mia)  # North's manager
    page = client.get("/analytics/channels/").content.decode()
    assert "Unified inbox: first response" in page
    assert "33.3 %" in page
    client.force_login(dana)
    api = client.get("/api/v1/analytics/channel-metrics").json()
    assert {(r["team"], r["channel"], r["sla_met_percent"]) for r in api["inbox_per_team"]} == {
        ("North", "email", 33.3),
        ("South", "social", None),
    }
