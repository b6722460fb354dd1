"""``kreis cases config export|import``: the complaint configuration moves as one JSON file,
matched by natural keys, all or nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kreis.service.models import AssignmentRule, CaseCategory, MailTemplate, RootCause, SlaPolicy

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("cases", "config", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def configured(defect, root_cause, support, sam):
    policy = SlaPolicy.objects.get(severity="critical")
    policy.day_start, policy.day_end, policy.weekdays, policy.state = (
        "06:00",
        "22:00",
        "1234567",
        "BY",
    )
    policy.save()
    CaseCategory.objects.create(name_de="Verpackung", name_en="Packaging", kind="delivery")
    AssignmentRule.objects.create(name="Defekte", position=2, category=defect, assign_team=support)
    AssignmentRule.objects.create(name="Sam", position=5, region="Nord", assign_user=sam)
    MailTemplate.objects.create(
        key="acknowledgement", language="de", subject="Fall {{ case.number }}", body="Hallo"
    )


def test_export_then_import_restores_the_configuration(configured, tmp_path):
    path = tmp_path / "config.json"
    assert "written" in _run("export", "--output", str(path))
    exported = json.loads(path.read_text())
    rules = {rule["name"]: rule for rule in exported["assignment_rules"]}
    assert rules["Defekte"]["category"] == "Product defect"
    assert rules["Defekte"]["assign_team"] == "Support North"
    assert rules["Sam"]["assign_user"] == "sam"
    # Changed and deleted since the export …
    SlaPolicy.objects.filter(severity="critical").update(weekdays="12345", state="")
    CaseCategory.objects.filter(name_en="Packaging").delete()
    AssignmentRule.objects.filter(name="Sam").update(region="Süd")
    MailTemplate.objects.all().delete()
    RootCause.objects.filter(name_en="Manufacturing fault").update(name_de="Geändert")

    report = _run("import", str(path))

    assert "categories: 1 created" in report
    policy = SlaPolicy.objects.get(severity="critical")
    assert (policy.weekdays, policy.state, str(policy.day_start)) == ("1234567", "BY", "06:00:00")
    assert CaseCategory.objects.get(name_en="Packaging").kind == "delivery"
    assert AssignmentRule.objects.get(name="Sam").region == "Nord"
    assert MailTemplate.objects.get(key="acknowledgement", language="de").body == "Hallo"
    assert RootCause.objects.get(name_en="Manufacturing fault").name_de == "Fertigungsfehler"
    assert AssignmentRule.objects.count() == 2  # matched by name, not added again
    # A second export is the same document.
    assert json.loads(_run("export")) == exported


def test_a_dry_run_writes_nothing(configured, tmp_path):
    path = tmp_path / "config.json"
    _run("export", "--output", str(path))
    MailTemplate.objects.all().delete()
    assert "dry run" in _run("import", str(path), "--dry-run")
    assert not MailTemplate.objects.exists()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"sla_policies": [{"severity": "low", "day_start": "18:00"}]}, "sla_policies[0].day_end"),
        ({"sla_policies": [{"severity": "low", "day_start": "8 Uhr"}]}, "not a time of day"),
        (
            {"assignment_rules": [{"name": "R", "assign_user": "nobody"}]},
            "assignment_rules[0].assign_user: nobody not found",
        ),
        ({"assignment_rules": [{"name": "R", "region": "Nord"}]}, "user or a team"),
        (
            {
                "mail_templates": [
                    {"key": "reply", "language": "de", "subject": "s", "body": "{% debug %}"}
                ]
            },
            "mail_templates[0].body",
        ),
        ({"categories": [{"name_en": "Neu", "colour": "red"}]}, "Unknown fields: colour"),
        ({"version": 9}, "Unknown version 9"),
        ({"format": "something"}, "not an export"),
    ],
)
def test_a_bad_file_changes_nothing_and_says_where(defect, tmp_path, change, says):
    document = {
        "format": "kreis.cases.config",
        "version": 1,
        # A valid first section: rolled back with the rest.
        "categories": [{"name_en": "Packaging", "name_de": "Verpackung"}],
    } | change
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError) as refused:
        _run("import", str(path))
    assert says in str(refused.value)
    assert "nothing was imported" in str(refused.value)
    assert not CaseCategory.objects.filter(name_en="Packaging").exists()
    assert SlaPolicy.objects.get(severity="low").day_start.hour == 8


def test_a_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{nope")
    with pytest.raises(CommandError, match="is not JSON"):
        _run("import", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        _run("import", str(tmp_path / "missing.json"))
