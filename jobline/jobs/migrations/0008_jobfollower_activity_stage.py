"""Two changes to the jobs schema.

- JobFollower now belongs to jobs (its table was renamed by notifications 0003).
- Activity.stage: the stage a creation or a move entered, as a column, so the customer's
  status can be computed from the feed in one query when a stage's visibility is switched.
  Existing entries get it from their payload (``stage`` of a creation, ``to`` of a move). On
  PostgreSQL the feed's append-only trigger is switched off for that one backfill, inside
  this migration's transaction.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

BACKFILL_POSTGRES = """
ALTER TABLE jobs_activity DISABLE TRIGGER jobs_activity_append_only;
UPDATE jobs_activity AS a SET stage_id = (a.data -> 'stage' ->> 'id')::bigint
    WHERE a.kind = 'created' AND jsonb_typeof(a.data -> 'stage' -> 'id') = 'number'
    AND EXISTS (SELECT 1 FROM pipelines_stage s WHERE s.id = (a.data -> 'stage' ->> 'id')::bigint);
UPDATE jobs_activity AS a SET stage_id = (a.data -> 'to' ->> 'id')::bigint
    WHERE a.kind = 'status_changed' AND jsonb_typeof(a.data -> 'to' -> 'id') = 'number'
    AND EXISTS (SELECT 1 FROM pipelines_stage s WHERE s.id = (a.data -> 'to' ->> 'id')::bigint);
ALTER TABLE jobs_activity ENABLE TRIGGER jobs_activity_append_only;
"""

BACKFILL_SQLITE = [
    "UPDATE jobs_activity SET stage_id = json_extract(data, '$.stage.id') "
    "WHERE kind = 'created' AND json_type(data, '$.stage.id') = 'integer' "
    "AND json_extract(data, '$.stage.id') IN (SELECT id FROM pipelines_stage)",
    "UPDATE jobs_activity SET stage_id = json_extract(data, '$.to.id') "
    "WHERE kind = 'status_changed' AND json_type(data, '$.to.id') = 'integer' "
    "AND json_extract(data, '$.to.id') IN (SELECT id FROM pipelines_stage)",
]


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'jobs_activity_append_only'"
            )
            has_trigger = cursor.fetchone() is not None
        sql = BACKFILL_POSTGRES
        if not has_trigger:
            sql = "\n".join(line for line in sql.splitlines() if "TRIGGER" not in line)
        schema_editor.execute(sql, params=None)
    elif connection.vendor == "sqlite":
        for statement in BACKFILL_SQLITE:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0007_board_count_index"),
        ("notifications", "0003_jobfollower_to_jobs"),
        ("pipelines", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="JobFollower",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "job",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followers",
                                to="jobs.job",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_jobfollower",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("job", "user"), name="jobfollower_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="activity",
            name="stage",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="pipelines.stage",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
