"""A new installation starts with a sales pipeline (stages and probabilities) and lost reasons."""

from django.db import migrations


def create_default_pipeline(apps, schema_editor):
    from kreis.sales.services import ensure_default_pipeline

    ensure_default_pipeline(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create_default_pipeline, migrations.RunPython.noop)]
