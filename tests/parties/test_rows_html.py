"""The party list's rows are built in Python (``kreis.parties.rows``) for speed, from the
columns ``party_list_rows`` loads and what ``party_list_details`` adds; they must be exactly
what the template loop they replaced made from fully prefetched parties. The old loop is kept
here verbatim and rendered side by side: persons and organisations, markup in names and
values, roles, tags, primary and other contacts, figures with thousands, no owner, custom
columns, read-only users, both languages."""

from decimal import Decimal

import pytest
from django.template import Context, engines
from django.test import RequestFactory
from django.utils import translation

from kreis.analytics.customer.models import CustomerValue
from kreis.core.models import CustomField
from kreis.marketing.models import Segment
from kreis.marketing.relationships.models import PartyRelationshipType, RelationshipType
from kreis.parties import queries
from kreis.parties.models import ContactPoint, PartyRoleAssignment, Tag
from kreis.parties.rows import PartyRowRenderer
from tests.factories import MembershipFactory, UserFactory
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db

OLD_LOOP = """{% load i18n kreis party_links %}{% for party in page %}
  <tr>
    {% if not user.is_read_only %}<td class="kreis-check"><input type="checkbox" class="form-check-input" name="ids" value="{{ party.pk }}" form="bulk-form" aria-label="{% blocktranslate with name=party.name %}Select {{ name }}{% endblocktranslate %}"></td>{% endif %}
    <td><i class="bi bi-{% if party.is_person %}person{% else %}building{% endif %} text-body-secondary me-1" aria-hidden="true"></i><a href="{% url 'parties:detail' party.pk %}">{{ party.name }}</a></td>
    <td class="d-none d-md-table-cell">{% for r in party.role_assignments.all %}<span class="badge text-bg-light border me-1">{{ r.get_role_display }}</span>{% endfor %}</td>
    <td class="d-none d-lg-table-cell small">{{ party.get_lifecycle_phase_display|default:"—" }}{% if party.abc_class %} <span class="badge text-bg-light border" title="{% translate 'ABC class' %}">{{ party.abc_class }}</span>{% endif %}</td>{% if sees_types %}
    <td class="d-none d-xxl-table-cell small">{{ party.relationship_type_link.relationship_type.name|default:"—" }}</td>{% endif %}
    <td class="d-none d-lg-table-cell small text-end">{% if party.clv is not None %}{{ party.clv|floatformat:"0g" }}{% else %}—{% endif %}</td>
    <td class="d-none d-xxl-table-cell small text-end">{% if party.customer_value %}{{ party.customer_value.next_12_months|floatformat:"0g" }}{% else %}—{% endif %}</td>
    <td class="d-none d-lg-table-cell small">{% for c in party.contact_points.all %}{% if c.is_primary and c.kind != "social" %}<div class="text-truncate">{% if c.kind == "phone" %}<a class="kreis-tel" href="tel:{{ c.value|dial }}">{{ c.value|phone }}</a>{% elif c.kind == "email" %}<a href="mailto:{{ c.value }}">{{ c.value }}</a>{% else %}{{ c.value }}{% endif %}</div>{% endif %}{% endfor %}</td>
    <td class="d-none d-md-table-cell">{{ party.owner|default:"—" }}{% if sees_types and party.relationship_type_link.relationship_type %}<div class="small text-body-secondary d-xxl-none">{{ party.relationship_type_link.relationship_type.name }}</div>{% endif %}</td>
    <td class="d-none d-xxl-table-cell">{% for t in party.tags.all %}<span class="badge text-bg-secondary me-1">{{ t.name }}</span>{% endfor %}</td>
    {% for value in party|custom_cells_of:custom_columns %}<td class="d-none d-xl-table-cell">{{ value }}</td>{% endfor %}
  </tr>
  {% endfor %}"""  # noqa: E501


@pytest.fixture
def parties(alice, north):
    CustomField.objects.create(
        entity="party", key="segment", label="Segment", type="choice", choices=["A & B", "C"]
    )
    CustomField.objects.create(entity="party", key="vip", label="VIP", type="boolean")
    CustomField.objects.create(
        entity="party", key="langs", label="Languages", type="multi_choice", choices=["de", "en"]
    )
    acme = OrganizationFactory(
        name="Acme & <Söhne>",
        owner=alice,
        team=north,
        clv=Decimal("1234567.89"),
        abc_class="A",
        lifecycle_phase="active",
        custom={"segment": "A & B", "vip": True, "langs": ["de", "en"]},
    )
    CustomerValue.objects.create(
        party=acme,
        next_12_months=Decimal("98765.4"),
        residual=1,
        expected_margin=1.0,
        margin_basis="margin",
    )
    person = PersonFactory(owner=None, team=north, clv=Decimal("0"), custom={"vip": False})
    plain = OrganizationFactory(name="Plain", owner=alice, team=north)
    for role in ("customer", "prospect"):
        PartyRoleAssignment.objects.create(party=acme, role=role)
    PartyRoleAssignment.objects.create(party=person, role="supplier")
    vip, beta = Tag.objects.create(name="VIP <b>"), Tag.objects.create(name="beta")
    acme.tags.add(vip, beta)
    person.tags.add(beta)
    ContactPoint.objects.create(
        party=acme, kind="email", value="info@acme.example", is_primary=True
    )
    ContactPoint.objects.create(party=acme, kind="email", value="other@acme.example")
    ContactPoint.objects.create(party=acme, kind="phone", value="+49 711 1234", is_primary=True)
    ContactPoint.objects.create(party=acme, kind="social", value="@acme", is_primary=True)
    ContactPoint.objects.create(party=person, kind="phone", value="<script>", is_primary=True)
    segment = Segment.objects.create(name="Key", kind="static")
    key = RelationshipType.objects.create(
        name_de="Schlüssel & <Kunde>", name_en="Key & <account>", segment=segment, team=north
    )
    PartyRelationshipType.objects.create(party=acme, relationship_type=key)
    return [acme.pk, person.pk, plain.pk]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("columns", [0, 3])
def test_rows_are_what_the_template_made(parties, alice, north, language, read_only, columns):
    user = alice
    if read_only:
        user = UserFactory(username="reader", role="read_only")
        MembershipFactory(team=north, user=user)
    custom_columns = list(CustomField.objects.filter(entity="party").order_by("position", "pk"))[
        :columns
    ]
    request = RequestFactory().get("/parties/")
    request.user = user
    old_rows = list(queries.party_list_for_user(user=user).filter(pk__in=parties))
    with translation.override(language):  # the relationship type's name in this language
        new_rows = list(
            queries.party_list_rows(queries.party_list_for_user(user=user)).filter(pk__in=parties)
        )
    queries.party_list_details(new_rows)
    assert len(old_rows) == len(new_rows) == 3
    values = {
        "request": request,
        "user": user,
        "custom_columns": custom_columns,
        "sees_types": user.has_perm("marketing.view_relationship_types"),
    }
    with translation.override(language):
        old = engines["django"].from_string(OLD_LOOP).render({**values, "page": old_rows})
        new = PartyRowRenderer(Context(values), custom_columns).render_all(new_rows)
    assert new == old
