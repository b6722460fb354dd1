from django.db import migrations, models

SQLITE_FORWARD = [
    # A trigram FTS5 table over the folded text: substring matches, and the trigrams of a
    # misspelt word still hit most of the right ones.
    """CREATE VIRTUAL TABLE core_searchentry_fts USING fts5(
        text, content='core_searchentry', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER core_searchentry_ai AFTER INSERT ON core_searchentry BEGIN
        INSERT INTO core_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER core_searchentry_ad AFTER DELETE ON core_searchentry BEGIN
        INSERT INTO core_searchentry_fts(core_searchentry_fts, rowid, text)
        VALUES ('delete', old.id, old.text); END""",
    """CREATE TRIGGER core_searchentry_au AFTER UPDATE ON core_searchentry BEGIN
        INSERT INTO core_searchentry_fts(core_searchentry_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
        INSERT INTO core_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_searchentry_au",
    "DROP TRIGGER IF EXISTS core_searchentry_ad",
    "DROP TRIGGER IF EXISTS core_searchentry_ai",
    "DROP TABLE IF EXISTS core_searchentry_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX core_searchentry_text_trgm ON core_searchentry USING gin (text gin_trgm_ops)",
    "CREATE INDEX core_searchentry_text_fts ON core_searchentry "
    "USING gin (to_tsvector('simple', text))",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS core_searchentry_text_fts",
    "DROP INDEX IF EXISTS core_searchentry_text_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0002_customfield_savedview")]

    operations = [
        migrations.CreateModel(
            name="SearchEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("entity", models.CharField(max_length=20)),
                ("object_id", models.BigIntegerField()),
                ("title", models.CharField(max_length=200)),
                ("subtitle", models.CharField(blank=True, max_length=200)),
                ("url", models.CharField(max_length=200)),
                ("icon", models.CharField(default="search", max_length=30)),
                ("text", models.TextField()),
                ("owner_id", models.BigIntegerField(blank=True, null=True)),
                ("team_id", models.BigIntegerField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "search entry",
                "verbose_name_plural": "search entries",
                "indexes": [models.Index(fields=["owner_id", "team_id"], name="search_entry_owner_team")],
                "constraints": [models.UniqueConstraint(fields=("entity", "object_id"), name="search_entry_unique")],
            },
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
