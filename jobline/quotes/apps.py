from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "jobline.quotes"
    label = "quotes"

    def ready(self) -> None:
        # The job page shows the quote a job was made from; the jobs app sits below and asks
        # through its hook. periodic declares this app's periodic job.
        from jobline.jobs import hooks
        from jobline.quotes import periodic, selectors  # noqa: F401

        hooks.on_job_page(selectors.job_page_quote)
