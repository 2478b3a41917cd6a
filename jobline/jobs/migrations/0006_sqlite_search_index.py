"""SQLite-only: an FTS5 index over Job.search_text, kept in step by triggers.

PostgreSQL has its GIN index (migration 0003). On SQLite, LIKE '%word%' read every job
(about 0.5 s at 100,000 jobs in bench/); the FTS5 table answers prefix searches from an index.
"""

from django.db import migrations

CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS jobs_job_fts USING fts5("
    "search_text, content='jobs_job', content_rowid='id')",
    "INSERT INTO jobs_job_fts(rowid, search_text) SELECT id, search_text FROM jobs_job",
    "CREATE TRIGGER IF NOT EXISTS jobs_job_fts_insert AFTER INSERT ON jobs_job BEGIN "
    "INSERT INTO jobs_job_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS jobs_job_fts_delete AFTER DELETE ON jobs_job BEGIN "
    "INSERT INTO jobs_job_fts(jobs_job_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS jobs_job_fts_update AFTER UPDATE OF search_text ON jobs_job "
    "BEGIN INSERT INTO jobs_job_fts(jobs_job_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO jobs_job_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
DROP = [
    "DROP TRIGGER IF EXISTS jobs_job_fts_update",
    "DROP TRIGGER IF EXISTS jobs_job_fts_delete",
    "DROP TRIGGER IF EXISTS jobs_job_fts_insert",
    "DROP TABLE IF EXISTS jobs_job_fts",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in CREATE:
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in DROP:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0005_open_pipeline_index")]

    operations = [migrations.RunPython(forwards, backwards)]
