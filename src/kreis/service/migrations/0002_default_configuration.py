"""Starting configuration: an SLA per severity, the usual complaint categories and root
causes (``kreis.service.defaults``). Administrators change them in the admin."""

from django.db import migrations

from kreis.service.defaults import ensure_defaults


def forwards(apps, schema_editor):
    ensure_defaults(apps)


class Migration(migrations.Migration):
    dependencies = [("service", "0001_cases")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
