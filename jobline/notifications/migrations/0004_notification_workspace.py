"""Notifications carry their workspace: the bell counts without joining the jobs, and a
notification without a job (a stopped background worker) still belongs to a workspace."""

import django.db.models.deletion
from django.db import migrations, models


def fill_workspace(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Job = apps.get_model("jobs", "Job")
    Notification.objects.update(
        workspace_id=models.Subquery(
            Job.objects.filter(pk=models.OuterRef("job_id")).values("workspace_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_jobfollower_to_jobs"),
        ("workspaces", "0001_initial"),
        ("jobs", "0010_activity_job_covered_by_feed_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="notification", name="notif_inbox_idx"),
        migrations.AddField(
            model_name="notification",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.RunPython(fill_workspace, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="notification",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="workspaces.workspace",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="jobs.job",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                fields=["recipient", "workspace", "read_at", "-created_at"],
                name="notif_inbox_idx",
            ),
        ),
    ]
