"""JobFollower moves to the jobs app (followers are part of a job; the job page shows them and
the jobs layer must not import notifications). The table is renamed; no row changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_jobfollower_outgoingemail")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="jobfollower", table="jobs_jobfollower"),
            ],
            state_operations=[migrations.DeleteModel(name="JobFollower")],
        )
    ]
