"""Timeline entries are built in Python (``kreis.activities.entries``) for speed; they must be
exactly what the template they replaced made. The old ``activities/_entry.html`` is kept here
verbatim and rendered side by side with the new code on the same activities: every kind,
open, done and overdue, calls with duration and outcome, meetings with place and attendees,
markup in subjects, no owner, a party the user may not see, compact cards, read-only users,
both languages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template import Context, engines
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from kreis.activities import queries
from kreis.activities.entries import EntryRenderer
from kreis.activities.models import Activity, ActivityKind
from kreis.parties.models import Party
from tests.activities.factories import ActivityFactory, MeetingFactory, TaskFactory
from tests.factories import UserFactory
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db

OLD_ENTRY = """{% load i18n  party_links %}<li class="list-group-item kreis-activity d-flex gap-2 align-items-start{% if activity.done_at %} kreis-activity-done{% endif %}" id="activity-{{ activity.pk }}" data-kind="{{ activity.kind }}">
  <span class="kreis-activity-icon text-body-secondary" title="{{ activity.get_kind_display }}"><i class="bi bi-{{ activity.icon }}" aria-hidden="true"></i><span class="visually-hidden">{{ activity.get_kind_display }}</span></span>
  <div class="flex-grow-1 min-w-0">
    <div class="d-flex flex-wrap justify-content-between gap-1">
      <a class="fw-semibold text-break{% if activity.done_at and activity.kind == 'task' %} text-decoration-line-through{% endif %}" href="{% url 'activities:detail' activity.pk %}">{{ activity.subject }}</a>
      <time class="small text-body-secondary text-nowrap" datetime="{{ activity.occurred_at|date:'c' }}">{% if activity.kind == "task" %}{% translate "due" %} {% endif %}{{ activity.occurred_at|date:"SHORT_DATETIME_FORMAT" }}{% if activity.kind == "meeting" and activity.ends_at %}–{{ activity.ends_at|time:"TIME_FORMAT" }}{% endif %}</time>
    </div>
    <div class="small text-body-secondary">
      {% if activity.kind == "call" or activity.kind == "email" %}{{ activity.get_direction_display }}{% if activity.duration_minutes %} · {% blocktranslate count n=activity.duration_minutes %}{{ n }} minute{% plural %}{{ n }} minutes{% endblocktranslate %}{% endif %}{% if activity.outcome %} · {{ activity.get_outcome_display }}{% endif %} · {% endif %}
      {% if activity.kind == "meeting" %}{% if activity.location %}<i class="bi bi-geo-alt" aria-hidden="true"></i> {{ activity.location }} · {% endif %}{% with people=activity.attendees.all %}{% if people %}{% translate "with" %} {% for p in people %}{{ p.name }}{% if not forloop.last %}, {% endif %}{% endfor %} · {% endif %}{% endwith %}{% endif %}
      {% if show_party and activity.party and activity.party_id != anchor_party_id %}{% party_link activity.party %} · {% endif %}
      {{ activity.owner|default:_("nobody") }}
      {% if activity.is_overdue %}<span class="badge text-bg-danger ms-1">{% translate "overdue" %}</span>{% elif activity.done_at and activity.kind != "note" %}<span class="badge text-bg-success ms-1">{% translate "done" %}</span>{% elif activity.kind != "note" %}<span class="badge text-bg-light border ms-1">{% translate "open" %}</span>{% endif %}
    </div>
    {% if activity.body and not compact %}<div class="kreis-activity-body small mt-1">{{ activity.body|safe }}</div>{% endif %}
  </div>
  {% if activity.can_change and activity.kind != "note" %}
    {% if activity.done_at %}
    <form method="post" action="{% url 'activities:reopen' activity.pk %}" hx-post="{% url 'activities:reopen' activity.pk %}" hx-target="closest .kreis-activity" hx-swap="outerHTML">{% csrf_token %}<input type="hidden" name="next" value="{{ request.get_full_path }}">
      <button class="btn btn-sm btn-outline-secondary" type="submit" title="{% translate 'Reopen' %}"><i class="bi bi-arrow-counterclockwise" aria-hidden="true"></i><span class="visually-hidden">{% blocktranslate with subject=activity.subject %}Reopen “{{ subject }}”{% endblocktranslate %}</span></button></form>
    {% else %}
    <form method="post" action="{% url 'activities:complete' activity.pk %}" hx-post="{% url 'activities:complete' activity.pk %}" hx-target="closest .kreis-activity" hx-swap="outerHTML">{% csrf_token %}<input type="hidden" name="next" value="{{ request.get_full_path }}">
      <button class="btn btn-sm btn-outline-success" type="submit" title="{% translate 'Mark done' %}" data-testid="complete-{{ activity.pk }}"><i class="bi bi-check-lg" aria-hidden="true"></i><span class="visually-hidden">{% blocktranslate with subject=activity.subject %}Mark “{{ subject }}” done{% endblocktranslate %}</span></button></form>
    {% endif %}
  {% endif %}
</li>
"""  # noqa: E501


@pytest.fixture
def activities(alice, north, south):
    acme = OrganizationFactory(name="Acme & <Söhne>", owner=alice, team=north)
    person = PersonFactory(owner=alice, team=north)
    hidden = OrganizationFactory(name="Secret GmbH", team=south)
    now = timezone.now()
    rows = [
        ActivityFactory(party=acme, owner=alice, team=north, body="<p>Hello <b>there</b></p>"),
        ActivityFactory(
            kind=ActivityKind.CALL,
            party=person,
            owner=alice,
            team=north,
            direction="inbound",
            duration_minutes=1,
            outcome="reached",
            subject='Call "quoted" <x>',
            done_at=now,
        ),
        ActivityFactory(
            kind=ActivityKind.CALL,
            party=acme,
            owner=None,
            team=north,
            direction="outbound",
            duration_minutes=25,
        ),
        ActivityFactory(kind=ActivityKind.EMAIL, party=hidden, owner=alice, team=north),
        TaskFactory(party=acme, owner=alice, team=north),
        TaskFactory(party=acme, owner=alice, team=north, occurred_at=now - timedelta(days=2)),
        TaskFactory(party=person, owner=alice, team=north, done_at=now, subject="Done & dusted"),
        MeetingFactory(party=acme, owner=alice, team=north, location="Room <1>"),
        MeetingFactory(party=None, owner=alice, team=north, ends_at=None),
    ]
    rows[-2].attendees.add(person, acme)
    return [a.pk for a in rows], acme.pk


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"show_party": True},
        {"show_party": True, "compact": True},
        {"show_party": True, "anchor": True},
    ],
)
def test_entries_are_what_the_template_made(activities, alice, language, read_only, flags):
    ids, acme_pk = activities
    user = UserFactory(username="reader", role="read_only") if read_only else alice
    if read_only:
        alice.memberships.first().team.memberships.create(user=user)
    request = RequestFactory().get("/activities/timeline/?party=1&x=<'>")
    request.user = user
    template = engines["django"].from_string(OLD_ENTRY)
    rows = queries.activity_list_for_user(user=user).filter(pk__in=ids)
    assert len(rows) == len(ids)
    with translation.override(language):
        for activity in rows:
            activity.can_change = user.has_perm("core.change_record", activity)
            values = {
                "request": request,
                "user": user,
                "csrf_token": "token",
                "show_party": flags.get("show_party"),
                "compact": flags.get("compact"),
                "activity": activity,
            }
            if flags.get("anchor"):
                values["anchor_party_id"] = acme_pk
            old = template.render(values)
            new = EntryRenderer(Context(values)).render(activity)
            assert new == old


def test_timeline_query_fetches_what_entries_show(activities, alice):
    """The timeline loads fewer columns; rendering its entries needs no further query."""
    ids, acme_pk = activities
    page = queries.timeline(user=alice, party=Party.objects.get(pk=acme_pk))
    request = RequestFactory().get("/")
    request.user = alice
    for activity in page.entries:
        activity.can_change = True
    with CaptureQueriesContext(connection) as captured:
        html = EntryRenderer(
            Context({"request": request, "user": alice, "csrf_token": "t", "show_party": True})
        ).render_all(page.entries)
    assert len(captured) == 0
    assert Activity.objects.filter(pk__in=ids, party_id=acme_pk).count() == html.count("<li ")
