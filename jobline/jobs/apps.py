from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobline.jobs"
    label = "jobs"

    def ready(self) -> None:
        # The pipelines app asks, through its hooks, for the jobs of a stage being deleted to
        # be moved, and for customers' statuses to be read again when a stage's visibility
        # is switched; it cannot import this app (it sits below it).
        from jobline.jobs import services
        from jobline.pipelines import hooks

        hooks.on_stage_emptied(services.stage_empty_into)
        hooks.on_stage_visibility_changed(services.customer_stages_reset)
