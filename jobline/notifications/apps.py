from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "jobline.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Every new feed entry may mean an e-mail to the customer or an alert to staff; the
        # jobs app tells us through its hook (it sits below and cannot import us).
        from jobline.jobs import hooks
        from jobline.notifications import listeners, periodic  # noqa: F401 (declares its jobs)

        hooks.on_activity_logged(listeners.on_activity_logged)
