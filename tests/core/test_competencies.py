"""Sales competencies: the skills matrix, who changes whose levels, the CSV import and export,
the API, and the competencies the lead assignment rules require."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kreis.core.competencies import queries, services
from kreis.core.competencies.models import Competency, UserCompetency
from kreis.marketing.handoff import services as handoff
from kreis.marketing.models import LeadAssignmentRule
from tests.conftest import client_for
from tests.leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def french(db):
    return Competency.objects.create(kind="language", key="fr", name="French")


@pytest.fixture
def pumps(db):
    return Competency.objects.create(kind="product", key="Pumps", name="Pumps")


def level(user, competency):
    return (
        UserCompetency.objects.filter(user=user, competency=competency)
        .values_list("level", flat=True)
        .first()
    )


def test_a_rep_sets_her_own_levels_and_removes_one(alice, french, pumps):
    services.user_competencies_set(actor=alice, user=alice, levels={french.pk: 3, pumps.pk: 2})
    services.user_competencies_set(actor=alice, user=alice, levels={pumps.pk: None})
    assert level(alice, french) == 3
    assert level(alice, pumps) is None


def test_a_rep_cannot_change_a_colleagues_levels(alice, bob, french):
    with pytest.raises(PermissionDenied):
        services.user_competencies_set(actor=alice, user=bob, levels={french.pk: 4})
    assert level(bob, french) is None


def test_a_manager_changes_her_teams_levels_but_not_another_teams(mia, bob, charlie, french):
    services.user_competencies_set(actor=mia, user=bob, levels={french.pk: 4})
    assert level(bob, french) == 4
    with pytest.raises(PermissionDenied):
        services.user_competencies_set(actor=mia, user=charlie, levels={french.pk: 4})


def test_read_only_users_change_nothing_admins_everything(rory, dana, charlie, french):
    with pytest.raises(PermissionDenied):
        services.user_competencies_set(actor=rory, user=rory, levels={french.pk: 1})
    services.user_competencies_set(actor=dana, user=charlie, levels={french.pk: 1})
    assert level(charlie, french) == 1


def test_a_bad_level_is_refused_and_nothing_changes(alice, french, pumps):
    with pytest.raises(ValidationError):
        services.user_competencies_set(actor=alice, user=alice, levels={french.pk: 2, pumps.pk: 9})
    assert not UserCompetency.objects.exists()


def test_a_language_is_named_by_its_iso_code(dana):
    with pytest.raises(ValidationError) as exc:
        services.competency_save(
            actor=dana,
            competency=Competency(),
            values={"kind": "language", "key": "French", "name": "F"},
        )
    assert "key" in exc.value.message_dict


def test_only_managers_and_admins_keep_the_catalogue(alice, mia):
    with pytest.raises(PermissionDenied):
        services.competency_save(
            actor=alice, competency=Competency(), values={"kind": "skill", "key": "x", "name": "X"}
        )
    made = services.competency_save(
        actor=mia,
        competency=Competency(),
        values={"kind": "skill", "key": "cold-calls", "name": "Cold calls"},
    )
    assert made.pk


def test_matrix_filters_by_team_and_marks_editable_rows(mia, bob, charlie, french):
    UserCompetency.objects.create(user=bob, competency=french, level=3)
    matrix = queries.skills_matrix(viewer=mia, team=bob.teams.first())
    names = [row.user.username for row in matrix.rows]
    assert "bob" in names
    assert "charlie" not in names
    bob_row = next(row for row in matrix.rows if row.user == bob)
    assert bob_row.levels == [3]
    assert bob_row.editable


def test_matrix_page_shows_levels_and_the_rep_edits_only_herself(alice, bob, french):
    UserCompetency.objects.create(user=bob, competency=french, level=4)
    client = client_for(alice)
    page = client.get(reverse("core:competency_matrix"))
    assert page.status_code == 200
    assert "French" in page.content.decode()
    assert reverse("core:competency_user", args=[bob.pk]) not in page.content.decode()
    refused = client.post(reverse("core:competency_user", args=[bob.pk]), {f"c{french.pk}": "1"})
    assert refused.status_code == 404
    assert level(bob, french) == 4
    saved = client.post(reverse("core:competency_user", args=[alice.pk]), {f"c{french.pk}": "2"})
    assert saved.status_code == 302
    assert level(alice, french) == 2


def test_import_is_all_or_nothing_and_names_the_line(dana, alice, bob, french):
    bad = "username,kind,key,name,level\nalice,language,fr,French,3\nnobody,language,fr,,2\n"
    result = services.competencies_import(actor=dana, text=bad)
    assert result.errors
    assert "3" in result.errors[0]
    assert not UserCompetency.objects.exists()
    good = (
        "username,kind,key,name,level\nalice,language,FR,,3\nbob,skill,negotiation,Negotiation,4\n"
    )
    result = services.competencies_import(actor=dana, text=good)
    assert not result.errors
    assert level(alice, french) == 3
    assert result.created_competencies == 1
    assert level(bob, Competency.objects.get(key="negotiation")) == 4


def test_export_defuses_formulas_and_imports_back(dana, alice):
    evil = Competency.objects.create(kind="skill", key="=cmd()", name="=cmd()")
    UserCompetency.objects.create(user=alice, competency=evil, level=2)
    rows = services.competencies_export_rows()
    assert rows[1][2] == "'=cmd()"
    text = "\n".join(",".join(row) for row in rows)
    UserCompetency.objects.all().delete()
    assert not services.competencies_import(actor=dana, text=text).errors
    assert level(alice, evil) == 2


def test_api_reads_the_matrix_and_sets_levels_with_if_match(alice, bob, french, api_key_for):
    client = client_for(alice)
    key = api_key_for(alice)
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/competencies/users/{alice.pk}"
    first = client.get(url, headers=headers)
    assert first.status_code == 200
    stale = '"0-0-0.000000"'
    refused = client.patch(
        url,
        {"levels": [{"competency_id": french.pk, "level": 3}]},
        content_type="application/json",
        headers={**headers, "If-Match": stale},
    )
    assert refused.status_code == 412
    ok = client.patch(
        url,
        {"levels": [{"competency_id": french.pk, "level": 3}]},
        content_type="application/json",
        headers={**headers, "If-Match": first["ETag"]},
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["levels"] == [{"competency_id": french.pk, "level": 3}]
    other = client.patch(
        f"/api/v1/competencies/users/{bob.pk}",
        {"levels": [{"competency_id": french.pk, "level": 3}]},
        content_type="application/json",
        headers=headers,
    )
    assert other.status_code == 403
    matrix = client.get("/api/v1/competencies/matrix", headers=headers).json()
    row = next(r for r in matrix["rows"] if r["user_id"] == alice.pk)
    assert row["levels"] == {str(french.pk): 3}


# --- the lead assignment rules --------------------------------------------------------------


def test_lead_rule_picks_only_reps_with_the_required_competency(alice, bob, north, french):
    rule = LeadAssignmentRule.objects.create(name="French leads", team=north, competency_level=3)
    rule.required_competencies.set([french])
    UserCompetency.objects.create(user=alice, competency=french, level=2)  # below the level
    UserCompetency.objects.create(user=bob, competency=french, level=4)
    picks = [handoff.hand_off(LeadFactory()).assigned_to for _ in range(3)]
    assert picks == [bob, bob, bob]
    handoff_row = LeadFactory().handoffs.model.objects.order_by("-pk").first()
    assert "French" in handoff.reason_text(handoff_row.reason)


def test_lead_rule_without_a_qualified_rep_gives_way_to_the_next_rule(alice, bob, north, french):
    strict = LeadAssignmentRule.objects.create(name="Strict", team=north, position=1)
    strict.required_competencies.set([french])
    fallback = LeadAssignmentRule.objects.create(name="Anyone", position=2)
    fallback.users.set([alice])
    assert handoff.hand_off(LeadFactory()).assigned_to == alice


def test_lead_assignment_queries_stay_few_with_many_competencies(
    alice, bob, north, django_assert_max_num_queries
):
    many = [Competency.objects.create(kind="skill", key=f"s{i}", name=f"S{i}") for i in range(20)]
    rule = LeadAssignmentRule.objects.create(name="Skilled", team=north)
    rule.required_competencies.set(many)
    UserCompetency.objects.bulk_create(
        [UserCompetency(user=bob, competency=c, level=4) for c in many]
    )
    lead = LeadFactory()
    with django_assert_max_num_queries(6):
        pick = handoff.pick_assignee(lead)
    assert pick.user == bob
