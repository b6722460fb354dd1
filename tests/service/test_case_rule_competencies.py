"""Case assignment rules that require competencies (kreis.core.competencies)."""

import pytest
from django.core.exceptions import ValidationError

from kreis.core.competencies.models import Competency, UserCompetency
from kreis.parties.services import party_create
from kreis.service import services
from kreis.service.models import AssignmentRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(alice):
    return party_create(actor=alice, kind="organization", name="Pumpen Schulz GmbH")


@pytest.fixture
def french(db):
    return Competency.objects.create(kind="language", key="fr", name="French")


def _case(actor, customer, category):
    return services.case_create(
        actor=actor,
        party=customer,
        category=category,
        channel="phone",
        subject="Pumpe",
        severity="high",
    )


def test_team_rule_gives_cases_only_to_agents_with_the_competency(
    alice, customer, defect, sam, sue, french
):
    rule = AssignmentRule.objects.create(
        position=1, name="French", assign_team=sam.teams.first(), competency_level=2
    )
    rule.required_competencies.set([french])
    UserCompetency.objects.create(user=sue, competency=french, level=3)
    owners = [_case(alice, customer, defect).owner for _ in range(3)]
    assert owners == [sue, sue, sue]


def test_named_user_without_the_competency_falls_to_the_next_rule(
    alice, customer, defect, sam, sue, otto, french
):
    first = AssignmentRule.objects.create(position=1, name="Sue only", assign_user=sue)
    first.required_competencies.set([french])
    AssignmentRule.objects.create(position=2, name="Otto", assign_user=otto)
    assert _case(alice, customer, defect).owner == otto
    UserCompetency.objects.create(user=sue, competency=french, level=2)
    assert _case(alice, customer, defect).owner == sue


def test_api_sets_the_required_competencies(dana, french, api_key_for, client):
    key = api_key_for(dana)
    made = client.post(
        "/api/v1/cases/config/assignment-rules",
        {
            "name": "French",
            "assign_user_id": dana.pk,
            "required_competency_ids": [french.pk],
            "competency_level": 3,
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["required_competency_ids"] == [french.pk]
    assert made.json()["competency_level"] == 3
    unknown = client.post(
        "/api/v1/cases/config/assignment-rules",
        {"name": "Bad", "assign_user_id": dana.pk, "required_competency_ids": [999999]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert unknown.status_code == 422


def test_configuration_export_and_import_carry_the_required_competencies(dana, sue, french):
    from kreis.service.config import config_export, config_import

    rule = AssignmentRule.objects.create(
        position=1, name="French", assign_user=sue, competency_level=3
    )
    rule.required_competencies.set([french])
    exported = config_export()
    row = next(r for r in exported["assignment_rules"] if r["name"] == "French")
    assert row["required_competencies"] == ["language:fr"]
    assert row["competency_level"] == 3
    rule.required_competencies.clear()
    config_import(actor=dana, data=exported)
    assert list(AssignmentRule.objects.get(name="French").required_competencies.all()) == [french]
    row["required_competencies"] = ["language:xx"]
    with pytest.raises(ValidationError):
        config_import(actor=dana, data=exported)
