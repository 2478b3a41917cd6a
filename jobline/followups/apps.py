from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "jobline.followups"
    label = "followups"

    def ready(self) -> None:
        # A job entering a stage with follow-ups schedules them; a lost job cancels them; the
        # job page lists them; templates bring theirs. The lower apps tell us through hooks.
        from jobline.followups import periodic, selectors, services  # noqa: F401
        from jobline.jobs import hooks as job_hooks
        from jobline.pipelines import hooks as pipeline_hooks

        job_hooks.on_activity_logged(services.on_activity_logged)
        job_hooks.on_job_page(selectors.job_page_follow_ups)
        pipeline_hooks.on_pipeline_created(services.on_pipeline_created)
