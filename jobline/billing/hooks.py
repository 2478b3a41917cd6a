"""What the billing app tells the layers above it (notifications), without importing them.

An invoice issued (an instalment requested, by staff, a trigger or a date) is told inside the
request's transaction, as the service holds it (its job locked), so a handler needs no read
of its own and what it writes (the customer's e-mail in the outbox) commits or rolls back
with the invoice.
"""

from __future__ import annotations

from collections.abc import Callable

from jobline.billing.models import Invoice

InvoiceHandler = Callable[[Invoice], None]

_issued_handlers: list[InvoiceHandler] = []


def on_invoice_issued(handler: InvoiceHandler) -> None:
    """Register ``handler`` for every invoice issued (registering twice changes nothing)."""
    if handler not in _issued_handlers:
        _issued_handlers.append(handler)


def invoice_issued(invoice: Invoice) -> None:
    for handler in _issued_handlers:
        handler(invoice)
