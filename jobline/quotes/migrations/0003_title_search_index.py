"""The quote list's search index over Quote.title (core/search.py): on PostgreSQL a GIN index
on the expression quotes.selectors filters by, on SQLite an FTS5 table kept in step by
triggers. A title LIKE '%word%' read all 50,000 quotes of bench/ (46 ms on SQLite, 96 on
PostgreSQL)."""

from django.db import migrations

POSTGRES_CREATE = [
    "CREATE INDEX IF NOT EXISTS quote_title_search_gin_idx ON quotes_quote "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(title, '')))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS quote_title_search_gin_idx"]

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS quotes_quote_fts USING fts5("
    "title, content='quotes_quote', content_rowid='id')",
    "INSERT INTO quotes_quote_fts(rowid, title) SELECT id, title FROM quotes_quote",
    "CREATE TRIGGER IF NOT EXISTS quotes_quote_fts_insert AFTER INSERT ON quotes_quote BEGIN "
    "INSERT INTO quotes_quote_fts(rowid, title) VALUES (new.id, new.title); END",
    "CREATE TRIGGER IF NOT EXISTS quotes_quote_fts_delete AFTER DELETE ON quotes_quote BEGIN "
    "INSERT INTO quotes_quote_fts(quotes_quote_fts, rowid, title) "
    "VALUES ('delete', old.id, old.title); END",
    "CREATE TRIGGER IF NOT EXISTS quotes_quote_fts_update AFTER UPDATE OF title ON quotes_quote "
    "BEGIN INSERT INTO quotes_quote_fts(quotes_quote_fts, rowid, title) "
    "VALUES ('delete', old.id, old.title); "
    "INSERT INTO quotes_quote_fts(rowid, title) VALUES (new.id, new.title); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS quotes_quote_fts_update",
    "DROP TRIGGER IF EXISTS quotes_quote_fts_delete",
    "DROP TRIGGER IF EXISTS quotes_quote_fts_insert",
    "DROP TABLE IF EXISTS quotes_quote_fts",
]


def _run(schema_editor, statements_by_vendor):
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_CREATE, "sqlite": SQLITE_CREATE})


def backwards(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    dependencies = [("quotes", "0002_quote_rounding_and_currency")]

    operations = [migrations.RunPython(forwards, backwards)]
