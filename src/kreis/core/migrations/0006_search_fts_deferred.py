"""SQLite: the search index's FTS rows of many new entries written in one statement.

The trigger that mirrors each new ``core_searchentry`` row into the trigram FTS table costs
~50 µs a row when rows come one ``executemany`` step at a time: a statement with a trigger
opens a statement savepoint, and FTS5 flushes its pending terms into a new segment at every
savepoint, so each entry became a segment of its own to be merged later. ``INSERT INTO
core_searchentry_fts SELECT …`` of the same rows costs ~5–10 µs a row. Bulk writers
(``kreis.core.search.insert_entries``) put a row into ``core_searchfts_deferred`` inside
their transaction, insert the entries (the trigger skips them), remove the row and fill the
FTS table in one statement — all in one transaction, so no other connection ever sees the
flag or entries missing from the index.
"""

from django.db import migrations

FORWARD = [
    "CREATE TABLE core_searchfts_deferred (deferred INTEGER NOT NULL)",
    "DROP TRIGGER IF EXISTS core_searchentry_ai",
    """CREATE TRIGGER core_searchentry_ai AFTER INSERT ON core_searchentry
        WHEN NOT EXISTS (SELECT 1 FROM core_searchfts_deferred) BEGIN
        INSERT INTO core_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS core_searchentry_ai",
    """CREATE TRIGGER core_searchentry_ai AFTER INSERT ON core_searchentry BEGIN
        INSERT INTO core_searchentry_fts(rowid, text) VALUES (new.id, new.text); END""",
    "DROP TABLE IF EXISTS core_searchfts_deferred",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0005_idempotency_key")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
