"""Mail backends for tests: one that refuses every message, as a mail server that is down or
rejects the sender does."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

REFUSING = "tests.accounts.mail_backends.RefusingBackend"


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPRecipientsRefused({"someone@example.com": (550, b"Mailbox refused")})
