from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "jobline.bookings"
    label = "bookings"

    def ready(self) -> None:
        # The job page shows the job's visits; the jobs app sits below and asks through its
        # hook. periodic declares this app's periodic job.
        from jobline.bookings import periodic, selectors  # noqa: F401
        from jobline.jobs import hooks

        hooks.on_job_page(selectors.job_page_visits)
        hooks.on_visible_visits(selectors.visible_visit_ids)
