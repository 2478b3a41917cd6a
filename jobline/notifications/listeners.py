"""What the notifications app does with every new feed entry (registered with jobs.hooks in
NotificationsConfig.ready), inside the change's transaction."""

from __future__ import annotations

from jobline.billing.models import Invoice
from jobline.jobs.choices import ActivityKind, ActorKind
from jobline.jobs.models import Activity
from jobline.notifications import emails, services
from jobline.notifications.models import EmailKind
from jobline.quotes.models import Quote


def on_activity_logged(activity: Activity) -> None:
    """A customer's own action alerts the job's staff; a change staff made that the customer
    may see goes to the customer's digest. An instalment requested is e-mailed as its invoice
    (on_invoice_issued), not in a digest."""
    if activity.kind == ActivityKind.FOLLOW_UP_DUE:
        services.tell_owner_follow_up_due(activity)
        return
    if activity.kind == ActivityKind.INSTALMENT_REQUESTED:
        return
    if activity.actor_kind == ActorKind.CUSTOMER:
        services.alert_staff(activity)
    else:
        emails.customer_update_queue(activity)


def on_invoice_issued(invoice: Invoice) -> None:
    """An invoice issued asks the job's customer for its money (billing.hooks): the invoice
    as the request holds it, so nothing is read again."""
    emails.invoice_queue(invoice=invoice)


def on_quote_event(quote: Quote, kind: str) -> None:
    """A quote sent (or sent again as a new revision) goes to its customer; the customer's
    acceptance or decline goes to its owner (bell and e-mail)."""
    if kind in ("sent", "revised"):
        customer = quote.customer
        if customer.email and customer.archived_at is None:
            emails.quote_queue(quote=quote, kind=EmailKind.QUOTE, customer=customer,
                               to_address=customer.email, lines=[kind])  # fmt: skip
    elif kind in ("accepted", "declined"):
        services.tell_owner_of_decision(quote=quote, kind=kind)
