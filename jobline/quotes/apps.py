from django.apps import AppConfig


class QuotesConfig(AppConfig):
    name = "jobline.quotes"
    label = "quotes"

    def ready(self) -> None:
        # The job page shows the quote a job was made from; the jobs app sits below and asks
        # through its hook. periodic declares this app's periodic job.
        # An approval can show the customer a revision of the job's quote (approvals sits
        # below too, and asks through its own hook).
        from jobline.approvals import hooks as approval_hooks
        from jobline.jobs import hooks
        from jobline.quotes import periodic, selectors  # noqa: F401

        hooks.on_job_page(selectors.job_page_quote)
        approval_hooks.offer_documents(selectors.approval_documents)
