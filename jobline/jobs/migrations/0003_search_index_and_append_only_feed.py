"""PostgreSQL-only pieces of the jobs schema.

- A GIN index for full-text search over Job.search_text (the expression matches the query
  that jobs.selectors builds, so the planner uses it).
- A trigger that refuses UPDATE and DELETE on the activity feed: history is append-only even
  for code (or people) that bypass the services. Deleting a whole job or workspace (CASCADE)
  is allowed through the session setting jobline.allow_feed_delete, which only that code sets.
"""

from django.db import migrations

SEARCH_INDEX = (
    "CREATE INDEX IF NOT EXISTS job_search_gin_idx ON jobs_job "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
)

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION jobs_activity_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('jobline.allow_feed_delete', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'The activity feed is append-only: % on jobs_activity is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS jobs_activity_append_only ON jobs_activity;
CREATE TRIGGER jobs_activity_append_only
    BEFORE UPDATE OR DELETE ON jobs_activity
    FOR EACH ROW EXECUTE FUNCTION jobs_activity_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS jobs_activity_append_only ON jobs_activity;
DROP FUNCTION IF EXISTS jobs_activity_append_only();
DROP INDEX IF EXISTS job_search_gin_idx;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SEARCH_INDEX, params=None)
    # params=None: the SQL holds a literal % (RAISE formats), not a placeholder.
    schema_editor.execute(APPEND_ONLY, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
