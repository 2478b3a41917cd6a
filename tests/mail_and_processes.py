"""What several test modules need to run the app the way a server does: a job whose reply
is e-mailed to its customer, a real SMTP mailbox, a free port, and the address of this test
run's database for a child process (``manage.py run_worker``, ``backup``, ``restore``)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from django.db import connection

from jobline.accounts.models import User
from jobline.jobs import services
from jobline.jobs.models import Job
from jobline.pipelines.services import pipeline_create_from_blueprint
from tests.conftest import Cast


def job_with_customer_reply(
    cast: Cast, body: str, *, title: str = "Laptop", owner: User | None = None
) -> Job:
    """A repair job for the cast's customer with the portal on, and a reply to the customer:
    an outbox e-mail and its delivery task, both committed in a transactional test."""
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    pipeline = pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="repair", actor=cast.admin
    )
    job = services.job_create(
        workspace=cast.workspace, pipeline=pipeline, title=title, actor=cast.admin,
        customer=cast.customer, owner=owner,
    )  # fmt: skip
    services.message_add(job=job, body=body, visibility="customer", actor=cast.admin)
    return job


class Inbox:
    """An SMTP server's mailbox (aiosmtpd handler). ``hold`` keeps the server from answering
    the end of DATA for that long after it stored the message: the moment a sender can die
    not knowing whether the message was taken."""

    def __init__(self, hold: float = 0.0, hold_recipient: float = 0.0) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.recipients: list[str] = []
        self.hold = hold
        # Keeps the server from answering RCPT TO for that long: a sender that dies there has
        # handed nothing over.
        self.hold_recipient = hold_recipient

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.recipients.append(address)
        if self.hold_recipient:
            await asyncio.sleep(self.hold_recipient)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        if self.hold:
            await asyncio.sleep(self.hold)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(name: str | None = None) -> str:
    """This test run's database (or another one, ``name``, on the same server) as a URL."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name or settings['NAME']}"
    user = settings.get("USER") or "postgres"
    return f"postgres://{user}@{settings['HOST']}:{settings['PORT']}/{name or settings['NAME']}"
