"""On PostgreSQL, no member is in two overlapping time-blocking assignments, whatever the timing
of the requests: an exclusion constraint over (member, [start, end)). SQLite has no such
constraint; there every write transaction holds the database's write lock from its start, so
the services' overlap check and the write are already one step."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_assignment ADD CONSTRAINT assignment_no_overlap
    EXCLUDE USING gist (membership_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
    WHERE (blocks_time);
"""
DROP = "ALTER TABLE bookings_assignment DROP CONSTRAINT IF EXISTS assignment_no_overlap;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
