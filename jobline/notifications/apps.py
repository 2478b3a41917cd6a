from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "jobline.notifications"
    label = "notifications"

    def ready(self) -> None:
        # Every new feed entry may mean an e-mail to the customer or an alert to staff; the
        # jobs app tells us through its hook (it sits below and cannot import us).
        from jobline.core import backups
        from jobline.jobs import hooks
        from jobline.notifications import listeners, periodic, services  # noqa: F401 (its jobs)

        hooks.on_activity_logged(listeners.on_activity_logged)
        # An invoice issued: the billing app tells us through its hook.
        from jobline.billing import hooks as billing_hooks

        billing_hooks.on_invoice_issued(listeners.on_invoice_issued)
        # A quote sent, accepted or declined: the quotes app tells us through its hook.
        from jobline.quotes import hooks as quote_hooks

        quote_hooks.on_quote_event(listeners.on_quote_event)
        # A restored copy holds its outbox for an Admin (the original may have sent it).
        backups.on_restored(services.hold_outbox_after_restore)
