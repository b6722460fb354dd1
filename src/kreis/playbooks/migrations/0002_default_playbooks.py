"""The playbooks Kreis ships: retention on Endangerment, win-back on Dissolution and Abstinence."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from kreis.playbooks.services import DEFAULTS

    Playbook = apps.get_model("playbooks", "Playbook")
    PlaybookStep = apps.get_model("playbooks", "PlaybookStep")
    for spec in DEFAULTS:
        if Playbook.objects.filter(key=spec["key"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k != "steps"}
        fields["entry_phases"] = [str(p) for p in fields["entry_phases"]]
        fields["kind"] = str(fields["kind"])
        playbook = Playbook.objects.create(**fields)
        for i, (delay, action, due, title_de, title_en, desc_de, desc_en) in enumerate(
            spec["steps"], start=1
        ):
            PlaybookStep.objects.create(
                playbook=playbook,
                position=i,
                delay_days=delay,
                action=str(action),
                due_days=due,
                title_de=title_de,
                title_en=title_en,
                description_de=desc_de,
                description_en=desc_en,
            )


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
