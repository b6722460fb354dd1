"""The board's cards and columns and the list's rows are built in Python
(``kreis.sales.templatetags.deal_board``) for speed; they must be exactly what the templates
they replaced made. The old templates are kept here verbatim and rendered side by side with
the tags on the same records: names with markup, hidden and missing organisations, no owner,
other currencies, a column with more deals than it shows, read-only users, both languages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Engine, Template
from django.test import RequestFactory
from django.utils import translation

from kreis.core.models import CustomField
from kreis.sales import queries
from kreis.sales.models import Deal, ForecastCategory
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db

OLD = {
    "sales/_card.html": """{% load i18n kreis  party_links %}<article class="card deal-card" id="deal-{{ deal.pk }}" data-deal-id="{{ deal.pk }}" data-stage-id="{{ deal.stage_id }}" data-updated-at="{{ deal.updated_at.isoformat }}" data-move-url="{% url 'sales:move' deal.pk %}">
  <div class="card-body p-2">
    <a class="fw-semibold d-block text-truncate" href="{% url 'sales:detail' deal.pk %}" title="{{ deal.name }}">{{ deal.name }}</a>
    {% if deal.organization %}<div class="small text-body-secondary text-truncate"><i class="bi bi-building me-1" aria-hidden="true"></i>{% party_name deal.organization %}</div>{% endif %}
    <div class="d-flex justify-content-between align-items-center small mt-1 gap-2">
      <span class="fw-semibold text-nowrap" data-testid="deal-amount">{{ deal.amount|money:deal.currency }}</span>
      <span class="text-body-secondary text-truncate" title="{% translate 'Owner' %}">{{ deal.owner|default:"—" }}</span>
    </div>
    {% if deal.expected_close and deal.stage.kind == "open" %}<div class="small text-body-secondary"><i class="bi bi-calendar-event me-1" aria-hidden="true"></i>{{ deal.expected_close|date:"SHORT_DATE_FORMAT" }}</div>{% endif %}
    {% if deal.stage.kind == "open" and can_move %}<form class="deal-forecast-form d-flex align-items-center gap-1 mt-1" method="post" action="{% url 'sales:forecast_category' deal.pk %}">{% csrf_token %}
      <input type="hidden" name="updated_at" value="{{ deal.updated_at.isoformat }}">
      <label class="text-body-secondary px-1" for="forecast-{{ deal.pk }}" title="{% translate 'Forecast category' %}"><i class="bi bi-graph-up-arrow" aria-hidden="true"></i><span class="visually-hidden">{% translate "Forecast category" %} – {{ deal.name }}</span></label>
      <select class="form-select form-select-sm" id="forecast-{{ deal.pk }}" name="forecast_category" data-testid="deal-forecast-category">{% for value, label in categories %}<option value="{{ value }}"{% if value == deal.forecast_category %} selected{% endif %}>{{ label }}</option>{% endfor %}</select>
      <button class="btn btn-sm btn-outline-secondary" type="submit" title="{% translate 'Set the forecast category' %}"><i class="bi bi-check2" aria-hidden="true"></i><span class="visually-hidden">{% translate "Set the forecast category" %}</span></button>
    </form>{% elif deal.stage.kind != "lost" %}<div class="small text-body-secondary" title="{% translate 'Forecast category' %}" data-testid="deal-forecast-category"><i class="bi bi-graph-up-arrow me-1" aria-hidden="true"></i>{{ deal.get_forecast_category_display }}</div>{% endif %}{% if can_move %}
    <form class="deal-move-form d-flex gap-1 mt-2" method="post" action="{% url 'sales:move' deal.pk %}">{% csrf_token %}
      <input type="hidden" name="updated_at" value="{{ deal.updated_at.isoformat }}">
      <label class="visually-hidden" for="move-{{ deal.pk }}">{% blocktranslate with name=deal.name %}Stage of {{ name }}{% endblocktranslate %}</label>
      <select class="form-select form-select-sm" id="move-{{ deal.pk }}" name="stage">{% for s in stages %}<option value="{{ s.pk }}"{% if s.pk == deal.stage_id %} selected{% endif %}>{{ s.label }}</option>{% endfor %}</select>
      <button class="btn btn-sm btn-outline-secondary" type="submit" title="{% translate 'Move to this stage' %}"><i class="bi bi-arrow-right" aria-hidden="true"></i><span class="visually-hidden">{% translate "Move to this stage" %}</span></button>
    </form>{% endif %}
  </div>
</article>
""",  # noqa: E501
    "sales/_column_head.html": """{% load i18n kreis %}<header class="deal-column-head" data-column-summary="{{ column.stage.pk }}">
  <div class="d-flex justify-content-between align-items-center gap-2">
    <h2 class="h6 mb-0 text-truncate">{% if column.stage.kind == "won" %}<i class="bi bi-trophy text-success me-1" aria-hidden="true"></i>{% elif column.stage.kind == "lost" %}<i class="bi bi-x-octagon text-danger me-1" aria-hidden="true"></i>{% endif %}{{ column.stage.label }}</h2>
    <span class="badge rounded-pill text-bg-secondary" data-testid="column-count" title="{% translate 'Deals' %}">{{ column.count }}</span>
  </div>
  <div class="small text-body-secondary"><span data-testid="column-amount">{{ column.amount|money }}</span>{% if column.stage.kind == "open" %} · {% blocktranslate with weighted=column.weighted|money probability=column.stage.probability %}{{ weighted }} weighted ({{ probability }} %){% endblocktranslate %}{% endif %}</div>
  {% if column.more %}<a class="small" href="{% url 'sales:list' %}?stage={{ column.stage.pk }}" data-testid="column-more">{% blocktranslate count more=column.more %}+ {{ more }} more in the list{% plural %}+ {{ more }} more in the list{% endblocktranslate %}</a>{% endif %}
</header>
""",  # noqa: E501
    "sales/_column.html": """{% load i18n %}<section class="deal-column" data-stage-id="{{ column.stage.pk }}" data-stage-kind="{{ column.stage.kind }}" data-column-url="{% url 'sales:board_column' column.stage.pk %}{% if query %}?{{ query }}{% endif %}" aria-label="{{ column.stage.label }}">
  {% include "sales/_column_head.html" %}
  <div class="deal-column-cards" data-stage-id="{{ column.stage.pk }}" data-stage-kind="{{ column.stage.kind }}">{% for deal in column.deals %}{% include "sales/_card.html" %}{% endfor %}</div>
</section>
""",  # noqa: E501
    "sales/_rows_body.html": """{% load i18n kreis  party_links %}
  {% for deal, cells in rows %}
  <tr>
    {% if not user.is_read_only %}<td><input type="checkbox" class="form-check-input" name="ids" value="{{ deal.pk }}" form="bulk-form" aria-label="{% blocktranslate with name=deal.name %}Select {{ name }}{% endblocktranslate %}"></td>{% endif %}
    <td><a href="{% url 'sales:detail' deal.pk %}">{{ deal.name }}</a>{% for t in deal.tags.all %} <span class="badge text-bg-secondary">{{ t.name }}</span>{% endfor %}</td>
    <td class="d-none d-md-table-cell">{% party_link deal.organization %}</td>
    <td><span class="badge {% if deal.stage.kind == 'won' %}text-bg-success{% elif deal.stage.kind == 'lost' %}text-bg-danger{% else %}text-bg-light border{% endif %}">{{ deal.stage.label }}</span><div class="small text-body-secondary d-none d-lg-block">{{ deal.pipeline.label }}</div></td>
    <td class="text-end text-nowrap">{{ deal.amount|money:deal.currency }}</td>
    <td class="d-none d-lg-table-cell">{{ deal.expected_close|date:"SHORT_DATE_FORMAT"|default:"—" }}</td>
    <td class="d-none d-md-table-cell">{{ deal.owner|default:"—" }}</td>
    {% for cell in cells %}<td class="d-none d-xl-table-cell">{{ cell }}</td>{% endfor %}
  </tr>
  {% empty %}
  <tr><td colspan="9" class="text-body-secondary">{% translate "No deals match." %}</td></tr>
  {% endfor %}
""",  # noqa: E501
}

OLD_ENGINE = Engine(
    loaders=[("django.template.loaders.locmem.Loader", OLD)],
    libraries={
        "i18n": "django.templatetags.i18n",
        "kreis": "kreis.core.templatetags.kreis",
        "party_links": "kreis.parties.templatetags.party_links",
    },
)
NAME = '<b>"Tom\'s" & Co</b> {{ x }} %s %(y)s'


@pytest.fixture
def board_deals(alice, charlie, north, south):
    visible = OrganizationFactory(owner=alice, team=north, name='Müller & "Söhne" <GmbH>')
    hidden = OrganizationFactory(owner=charlie, team=south, name="Geheim AG")
    crowded = stage_named("Proposal")
    DealFactory(
        name=NAME,
        owner=alice,
        team=north,
        organization=visible,
        amount=Decimal("1234567.89"),
        currency="USD",
        expected_close=dt.date(2027, 1, 31),
    )
    DealFactory(name="Verdeckt", owner=alice, team=north, organization=hidden, amount=0)
    DealFactory(name="Niemandes", owner=None, team=north, expected_close=dt.date(2027, 2, 1))
    for i in range(21):
        DealFactory(name=f"Menge {i}", owner=alice, team=north, stage=crowded, amount=i + 0.5)
    DealFactory(
        name="Gewonnen",
        owner=alice,
        team=north,
        organization=visible,
        stage=stage_named("Won"),
        expected_close=dt.date(2027, 3, 1),
    )


def _context(user, **extra):
    request = RequestFactory().get("/deals/")
    request.user = user
    categories = [c for c in ForecastCategory.choices if c[0] != ForecastCategory.CLOSED]
    return Context(
        {
            "request": request,
            "user": user,
            "csrf_token": "t0ken&<>",
            "categories": categories,
            **extra,
        }
    )


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("can_move", [True, False])
def test_board_columns_are_what_the_templates_made(board_deals, alice, charlie, language, can_move):
    pipeline = queries.pipeline_get(pk=default_pipeline().pk)
    stages = list(pipeline.stages.all())
    with translation.override(language):
        for user, query in ((alice, "pipeline=1&q=a&b"), (charlie, "")):
            columns = queries.board_for_user(user=user, pipeline=pipeline)
            assert any(c.more for c in columns) or user == charlie
            values = {"stages": stages, "can_move": can_move, "query": query}
            old = OLD_ENGINE.from_string(
                '{% for column in columns %}{% include "sales/_column.html" %}{% endfor %}'
            ).render(_context(user, columns=columns, **values))
            new = Template(
                "{% load deal_board %}{% for column in columns %}{% deal_column column %}"
                "{% endfor %}"
            ).render(_context(user, columns=columns, **values))
            assert new == old
            if user == alice:
                assert "&lt;b&gt;&quot;Tom&#x27;s&quot; &amp; Co&lt;/b&gt;" in new
                assert "Geheim AG" not in new
                assert ("deal-move-form" in new) == can_move
            # The move response: one card and the heads.
            deal = next((d for c in columns for d in c.deals), None)
            if deal is not None:
                context = _context(user, deal=deal, columns=columns, **values)
                old = OLD_ENGINE.from_string(
                    '{% include "sales/_card.html" %}'
                    '{% for column in columns %}{% include "sales/_column_head.html" %}{% endfor %}'
                ).render(context)
                new = Template(
                    "{% load deal_board %}{% deal_card deal %}"
                    "{% for column in columns %}{% column_head column %}{% endfor %}"
                ).render(context)
                assert new == old


@pytest.mark.parametrize("language", ["de", "en"])
def test_list_rows_are_what_the_template_made(board_deals, alice, rory, language):
    CustomField.objects.create(entity="deal", key="region", label="Region", type="text")
    Deal.objects.filter(name="Verdeckt").update(custom={"region": "Nord & <Süd>"})
    pipelines = list(queries.pipeline_list())
    with translation.override(language):
        for user in (alice, rory):
            deals = queries.deal_list_rows(queries.deal_list_for_user(user=user))
            rows = [
                (d, [d.custom.get("region", "")]) for d in queries.with_stages(deals, pipelines)
            ]
            assert len(rows) == 25
            for shown in (rows, []):
                old = OLD_ENGINE.get_template("sales/_rows_body.html").render(
                    _context(user, rows=shown)
                )
                new = Template("{% load deal_board %}\n  {% deal_rows rows %}\n").render(
                    _context(user, rows=shown)
                )
                assert new == old


@pytest.mark.parametrize("owner", ["", "me", "alice", "bob"])
def test_owner_options_are_what_the_template_made(alice, bob, mia, owner):
    bob.first_name = '<i>"Bob" & Co</i>'
    bob.save()
    users = list(type(alice).objects.order_by("pk"))
    get = {"owner": {"alice": str(alice.pk), "bob": str(bob.pk)}.get(owner, owner)}
    owner_id = alice.pk if owner in ("me", "alice") else bob.pk if owner == "bob" else None
    context = Context({"users": users, "params": {"owner_id": owner_id}, "get": get})
    old = Template(
        '{% for u in users %}<option value="{{ u.pk }}"{% if u.pk == params.owner_id and '
        'get.owner != "me" %} selected{% endif %}>{{ u }}</option>{% endfor %}'
    ).render(context)
    new = Template(
        '{% load kreis_lists %}{% if get.owner == "me" %}{% user_options users %}'
        "{% else %}{% user_options users params.owner_id %}{% endif %}"
    ).render(context)
    assert new == old
    assert new.count(" selected") == (owner in ("alice", "bob"))
