"""``kreis competencies export|import|list`` and
``kreis marketing relationship-types list|apply``."""

import io

import pytest
from django.core.management import CommandError, call_command

from kreis.core.competencies.models import Competency, UserCompetency
from kreis.marketing.models import Segment, SegmentMember
from kreis.marketing.relationships.models import PartyRelationshipType, RelationshipType
from kreis.parties.models import Party
from kreis.parties.services import party_create

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_export_then_import_round_trips_and_a_bad_file_changes_nothing(alice, tmp_path):
    french = Competency.objects.create(kind="language", key="fr", name="Französisch")
    UserCompetency.objects.create(user=alice, competency=french, level=3)
    exported = run("competencies", "export")
    assert exported.splitlines()[1] == "alice,language,fr,Französisch,3"
    path = tmp_path / "levels.csv"
    path.write_text(exported.replace(",3", ",4"), encoding="utf-8")
    assert "would set 1" in run("competencies", "import", str(path), "--dry-run")
    assert UserCompetency.objects.get().level == 3
    run("competencies", "import", str(path))
    assert UserCompetency.objects.get().level == 4
    path.write_text("username,kind,key,level\nalice,language,fr,9\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run("competencies", "import", str(path))
    assert UserCompetency.objects.get().level == 4
    assert "Französisch" in run("competencies", "list")


def test_relationship_types_apply_from_the_command_line(dana, mia):
    party = party_create(actor=dana, kind="organization", name="Kunde")
    Party.objects.filter(pk=party.pk).update(owner=None, team=None)
    segment = Segment.objects.create(name="Key", kind="static")
    SegmentMember.objects.create(segment=segment, party=party)
    key = RelationshipType.objects.create(
        name_de="Schlüsselkunde",
        name_en="Key account",
        segment=segment,
        ownership="named",
        owner=mia,
    )
    assert "1 would change" in run("marketing", "relationship-types", "apply", "--dry-run")
    assert Party.objects.get(pk=party.pk).owner is None
    assert "1 changed" in run("marketing", "relationship-types", "apply", "--type", str(key.pk))
    assert Party.objects.get(pk=party.pk).owner == mia
    assert PartyRelationshipType.objects.get().relationship_type == key
    assert "Key account" in run("marketing", "relationship-types", "list")
    with pytest.raises(CommandError):
        run("marketing", "relationship-types", "apply", "--type", "999999")
