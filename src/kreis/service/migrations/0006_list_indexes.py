"""Indexes for the case list at 100,000 cases (benchmarks/cases.py): the list sorted by due
date, and on PostgreSQL a trigram index on ``UPPER(subject)`` (what ``icontains`` compares),
so a search by subject word is answered from the index instead of reading every case."""

from django.db import migrations, models

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS case_subject_upper_trgm ON service_case "
    "USING gin (UPPER(subject::text) gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS case_subject_upper_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("service", "0005_mail_templates")]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["resolve_due_at", "id"], name="case_resolve_due"),
        ),
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
    ]
