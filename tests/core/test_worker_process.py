"""The worker as a real process (``manage.py run_worker``) against this test run's database
and a real SMTP server: killed with ``kill -9`` in the middle of a send, and (on PostgreSQL)
through a real restart of the database server. No e-mail is lost or sent twice."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, connections

from jobline.notifications.delivery import UNCERTAIN_ERROR
from jobline.notifications.models import EmailStatus, Notification, OutgoingEmail
from tests.conftest import Cast
from tests.mail_and_processes import Inbox, database_url, free_port, job_with_customer_reply
from tests.test_security import PROJECT_ROOT

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 2


@pytest.fixture
def smtp() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    controllers: list[Controller] = []

    def start(hold: float = 0.0, hold_recipient: float = 0.0) -> tuple[Inbox, int]:
        inbox = Inbox(hold, hold_recipient)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def silent_mail_server() -> Iterator[int]:
    """Accepts the connection and never greets: a worker waits in its connect."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for each in held:
        each.close()
    listener.close()


class WorkerProcess:
    def __init__(self, smtp_port: int, log: Path, *extra: str) -> None:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            DJANGO_SETTINGS_MODULE="jobline.settings",
            JOBLINE_ENV="development",
            DJANGO_DEBUG="0",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            EMAIL_TIMEOUT="30",
            JOBLINE_TASK_LEASE_SECONDS=str(LEASE_SECONDS),
            JOBLINE_HEARTBEAT_SECONDS="1",
            JOBLINE_BASE_URL="http://testserver",
            PYTHONUNBUFFERED="1",
        )
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.1", *extra],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill_hard(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill_hard()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[int], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(smtp_port: int) -> WorkerProcess:
        worker = WorkerProcess(smtp_port, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_until(condition: Callable[[], Any], *, seconds: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


def email_the_customer(cast: Cast, body: str) -> OutgoingEmail:
    """A reply to the customer: an outbox row and its delivery task, both committed."""
    return OutgoingEmail.objects.get(job=job_with_customer_reply(cast, body))


def status_of(email: OutgoingEmail) -> str:
    return OutgoingEmail.objects.values_list("status", flat=True).get(pk=email.pk)


@pytest.fixture
def no_digest(settings: Any) -> None:
    settings.JOBLINE_EMAIL_DIGEST_SECONDS = 0


def test_a_worker_killed_before_reaching_the_mail_server_leaves_a_send_that_runs_again(
    cast: Cast, no_digest: None, workers: Callable, smtp: Callable, silent_mail_server: int
) -> None:
    first = workers(silent_mail_server)
    email = email_the_customer(cast, "Ready for pickup")
    wait_until(lambda: status_of(email) == EmailStatus.SENDING, what="the worker's claim")
    first.kill_hard()  # while it waits for the mail server's greeting

    inbox, port = smtp()
    workers(port)  # a new worker: it finds the task of a dead one once the lease is over
    wait_until(lambda: status_of(email) == EmailStatus.SENT, what="the recovered send")
    time.sleep(LEASE_SECONDS + 1)  # nothing else is handed back and sent
    assert len(inbox.messages) == 1
    assert b"Ready for pickup" in inbox.messages[0][1]


def test_a_worker_killed_before_the_message_itself_leaves_a_send_that_runs_again(
    cast: Cast, no_digest: None, workers: Callable, smtp: Callable
) -> None:
    """Connected, greeted, the sender named, killed while the server is slow to take the
    recipient: the server keeps nothing of a transaction cut before its DATA, so the e-mail
    is sent again, once, instead of being failed as perhaps sent."""
    slow, slow_port = smtp(hold_recipient=30)
    first = workers(slow_port)
    email = email_the_customer(cast, "Parts arrived")
    wait_until(lambda: slow.recipients, what="the worker naming the recipient")
    first.kill_hard()
    assert OutgoingEmail.objects.get(pk=email.pk).handed_over_at is None

    inbox, port = smtp()
    workers(port)
    wait_until(lambda: status_of(email) == EmailStatus.SENT, what="the send run again")
    time.sleep(LEASE_SECONDS + 1)
    assert len(inbox.messages) == 1
    assert b"Parts arrived" in inbox.messages[0][1]
    assert slow.messages == []


def test_a_worker_killed_while_handing_over_never_sends_twice_and_an_admin_is_told(
    cast: Cast, no_digest: None, workers: Callable, smtp: Callable
) -> None:
    inbox, port = smtp(hold=30)
    first = workers(port)
    email = email_the_customer(cast, "Invoice attached")
    wait_until(lambda: inbox.messages, what="the message at the mail server")
    first.kill_hard()  # the server has it; the worker never heard "250"

    workers(port)
    wait_until(lambda: status_of(email) == EmailStatus.FAILED, what="the recovery")
    time.sleep(LEASE_SECONDS + 1)
    assert len(inbox.messages) == 1
    assert OutgoingEmail.objects.get(pk=email.pk).last_error == UNCERTAIN_ERROR
    told = Notification.objects.get(recipient=cast.admin, job=email.job)
    assert "may not have gone out" in told.text


def pg_ctlcluster() -> list[str] | None:
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a database server to restart")
def test_the_worker_stays_up_through_a_postgresql_restart(
    cast: Cast, no_digest: None, workers: Callable, smtp: Callable, tmp_path: Path
) -> None:
    cluster = pg_ctlcluster()
    if cluster is None:
        pytest.skip("needs pg_ctlcluster and root to restart the local PostgreSQL")
    inbox, port = smtp()
    worker = workers(port)
    before = email_the_customer(cast, "Before the restart")
    wait_until(lambda: status_of(before) == EmailStatus.SENT, what="the first e-mail")

    connections.close_all()
    subprocess.run([*cluster, "restart"], check=True, timeout=120)
    wait_until(
        lambda: subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0,
        what="PostgreSQL back",
    )
    time.sleep(1)  # the worker meets the new server (or its absence) at least once
    assert worker.process.poll() is None, worker.log.read_text()

    after = email_the_customer(cast, "After the restart")
    wait_until(lambda: status_of(after) == EmailStatus.SENT, what="the e-mail after the restart")
    bodies = b"\n".join(content for _, content in inbox.messages)
    assert len(inbox.messages) == 2
    assert b"Before the restart" in bodies and b"After the restart" in bodies
    assert worker.process.poll() is None
    assert "the database is unavailable" in worker.log.read_text()
