"""Version 1 of a consent text per purpose in German and English (``kreis.marketing.defaults``)."""

from django.db import migrations

from kreis.marketing.defaults import ensure_defaults


def forwards(apps, schema_editor):
    ensure_defaults(apps)


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_lead_management")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
