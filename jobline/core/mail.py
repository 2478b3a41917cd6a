"""Building e-mails. Every header value built from people's text (a business name, a job
title, the start of a customer's reply) goes through ``one_line``: a line break in a header
would make Django refuse the whole message (BadHeaderError), or worse, start a new header."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

# CR and LF, and everything else str.splitlines() treats as a line end.
LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
SUBJECT_LIMIT = 250


def one_line(text: str) -> str:
    """The text on a single line, runs of line breaks and spaces becoming one space."""
    return " ".join(LINE_BREAKS.sub(" ", text).split())


def email_message(
    *,
    subject: str,
    text: str,
    to: list[str],
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """A plain-text (and, given ``html``, HTML) message from the default sender, every header
    folded to one line."""
    message = EmailMultiAlternatives(
        subject=one_line(subject)[:SUBJECT_LIMIT],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={name: one_line(value) for name, value in (headers or {}).items()},
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message
