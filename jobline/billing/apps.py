from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "jobline.billing"
    label = "billing"

    def ready(self) -> None:
        # Stage entries and quote conversions trigger instalments; the job page shows the
        # payment schedule. The jobs and quotes apps sit below and tell us through their hooks.
        from jobline.billing import periodic, selectors, triggers  # noqa: F401
        from jobline.jobs import hooks as job_hooks
        from jobline.pipelines import hooks as pipeline_hooks
        from jobline.quotes import hooks as quote_hooks

        job_hooks.on_activity_logged(triggers.on_activity_logged)
        job_hooks.on_job_page(selectors.job_page_payments)
        quote_hooks.on_quote_event(triggers.on_quote_event)
        pipeline_hooks.on_pipeline_created(triggers.on_pipeline_created)
