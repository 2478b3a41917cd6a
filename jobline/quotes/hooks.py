"""What the quotes app tells the layers above it (notifications), without importing them.

Each event is told inside the change's transaction, so what a handler writes (an e-mail in
the outbox, a bell notification) commits or rolls back with it. Kinds: "sent", "revised",
"accepted", "declined", and "converted" (the quote's ``job`` is the new job, locked).
"""

from __future__ import annotations

from collections.abc import Callable

from jobline.quotes.models import Quote

QuoteHandler = Callable[[Quote, str], None]

_handlers: list[QuoteHandler] = []


def on_quote_event(handler: QuoteHandler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def quote_event(quote: Quote, kind: str) -> None:
    for handler in _handlers:
        handler(quote, kind)
