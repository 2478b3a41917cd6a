"""Building and sending e-mails. Every header value built from people's text (a business name,
a job title, the start of a customer's reply) goes through ``one_line``: a line break in a header
would make Django refuse the whole message (BadHeaderError), or worse, start a new header."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives

logger = logging.getLogger(__name__)

# CR and LF, and everything else str.splitlines() treats as a line end.
LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
SUBJECT_LIMIT = 250

MAIL_NOT_SENT = (
    "We could not send the e-mail just now, so nothing was saved. "
    "Please try again in a few minutes."
)


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


class MailNotSent(ValidationError):
    """An e-mail that is the whole point of a change (an invitation, a sign-in link, a sign-up
    confirmation) could not be sent. Raised inside the change's transaction, so the change is
    refused whole: nothing is saved that points at an e-mail nobody received.

    A ValidationError (non-field) so that any view showing a service's validation errors shows
    this one too, instead of a bare 500 page."""

    def __init__(self) -> None:
        super().__init__({NON_FIELD_ERRORS: [ValidationError(MAIL_NOT_SENT, code="mail_not_sent")]})


def send_or_refuse(message: EmailMessage) -> None:
    """Send now, or raise MailNotSent. Call it inside the transaction of the change the e-mail
    belongs to, after everything else has been written."""
    try:
        sent = message.send()
    except Exception as error:  # any backend failure (SMTP, DNS, a refused header) refuses
        logger.exception("E-mail to %s not sent: %s", message.to, message.subject)
        raise MailNotSent() from error
    if not sent:
        logger.error("E-mail to %s not sent (the backend sent nothing)", message.to)
        raise MailNotSent()
