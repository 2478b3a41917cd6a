"""The operations drill: a self-hoster's first bad week in a few minutes, on PostgreSQL.

    python -m bench.drill            (DRILL_SECONDS=300, DRILL_USERS=50; needs root for the
                                      PostgreSQL restart and the tiny full disk)

gunicorn (3 workers, production settings over HTTP), one ``run_worker`` and one
``run_scheduler`` serve a fresh demo workspace in ``jobline_drill``, with a real SMTP server.
Simulated staff sign in and, until the time is up, open job pages, write notes and replies
to customers and open boards. Meanwhile PostgreSQL is restarted (at 30 % of the time) and the
worker is killed with ``kill -9`` (at 60 %) and started again 2 s later, as systemd would.
Then: an upload onto a 1 MB tmpfs, and a backup restored into an empty database with the
project's own commands. It prints what held: requests and failures (inside and outside the
restart's instant), every reply posted found in the database, every e-mail sent exactly
once, the full disk's answer and leftovers, the restore's counts and held e-mails.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psycopg

from bench.__main__ import ROOT
from bench.http_mode import (
    DEMO_PASSWORD,
    BenchFailure,
    Browser,
    free_port,
    htmx_csrf_token,
    sign_in,
)

DRILL_DIR = ROOT / "var" / "drill"
DATABASE = "jobline_drill"
RESTORED = "jobline_drill_restored"
PG = {"host": "127.0.0.1", "user": "postgres"}
LOGIN_URL = "/accounts/sign-in/"
STAFF = ("owner@demo.jobline.test", "alex@demo.jobline.test", "sam@demo.jobline.test")


def url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def env_for(database: str, media: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JOBLINE_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        DATABASE_URL=url(database),
        DJANGO_SETTINGS_MODULE="jobline.settings",
        JOBLINE_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        JOBLINE_SSL_REDIRECT="0",
        JOBLINE_SECURE_COOKIES="0",
        JOBLINE_STATIC_ROOT=str(DRILL_DIR / "static"),
        JOBLINE_MEDIA_ROOT=str(media),
        JOBLINE_LOG_LEVEL="WARNING",
        JOBLINE_EMAIL_DIGEST_SECONDS="5",
        JOBLINE_TASK_LEASE_SECONDS="20",
        JOBLINE_HEARTBEAT_SECONDS="2",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchFailure(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def fresh_database(name: str) -> None:
    with psycopg.connect(**PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def query(name: str, sql: str, params: tuple = ()) -> list[tuple]:
    for attempt in range(30):  # the drill restarts the server under us
        try:
            with psycopg.connect(**PG, dbname=name) as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            if attempt == 29:
                raise
            time.sleep(1)
    return []


def pg_cluster() -> list[str]:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


# ----------------------------------------------------------------------------- mail


class Sink:
    """The SMTP server: every message, by its Message-ID."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.ids[message_from_bytes(envelope.content).get("Message-ID", "?")] += 1
        return "250 OK"


# ----------------------------------------------------------------------------- processes


@dataclass
class Processes:
    env: dict[str, str]
    port: int = 0
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    scheduler: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = DRILL_DIR / f"{name}.log"
        self.logs.append(log)
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        self.port = free_port()
        self.web = self._start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "jobline.wsgi:application",
                "--workers",
                "3",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
            ],
        )
        self.start_worker()
        self.scheduler = self._start("scheduler", [sys.executable, "manage.py", "run_scheduler"])
        deadline = time.monotonic() + 60
        while True:
            try:
                if Browser(self.port).send("GET", "/health/").status in (200, 503):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def start_worker(self) -> None:
        self.worker = self._start("worker", [sys.executable, "manage.py", "run_worker"])

    def stop(self) -> None:
        for process in (self.web, self.worker, self.scheduler):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.web, self.worker, self.scheduler):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- load


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    results: list[tuple[float, str, int]] = field(default_factory=list)  # (time, what, status)
    replies: list[str] = field(default_factory=list)  # bodies the server said it saved

    def add(self, what: str, status: int) -> None:
        with self.lock:
            self.results.append((time.monotonic(), what, status))


def simulated_user(
    port: int,
    email: str,
    numbers: list[int],
    boards: list[int],
    until: float,
    tally: Tally,
    seed: int,
) -> None:
    rng = random.Random(seed)
    browser = Browser(port)
    while time.monotonic() < until:
        try:
            sign_in(
                browser,
                {"login_url": LOGIN_URL, "email": email, "password": DEMO_PASSWORD},
            )
            break
        except (OSError, BenchFailure):
            tally.add("sign-in", 599)
            time.sleep(1)
    while time.monotonic() < until:
        number = rng.choice(numbers)
        try:
            if rng.random() < 0.2:
                reply = browser.send("GET", f"/jobs/board/{rng.choice(boards)}/")
                tally.add("board", reply.status)
                continue
            page = browser.send("GET", f"/jobs/{number}/")
            tally.add("job page", page.status)
            if page.status != 200:
                continue
            version = re.search(r'name="version" value="(\d+)"', page.text)
            body = f"drill {seed}-{len(tally.results)} {secrets.token_hex(4)}"
            visibility = "customer" if rng.random() < 0.4 else "internal"
            answer = browser.send(
                "POST",
                f"/jobs/{number}/messages/",
                data={
                    "body": body,
                    "visibility": visibility,
                    "version": version.group(1) if version else "",
                    "csrfmiddlewaretoken": htmx_csrf_token(page),
                },
                headers={"Origin": browser.origin, "Referer": browser.origin + f"/jobs/{number}/"},
            )
            tally.add("note", answer.status)
            if answer.status == 302:
                with tally.lock:
                    tally.replies.append(body)
        except OSError:
            tally.add("connection", 599)
            browser.close()
            time.sleep(0.2)
        time.sleep(rng.uniform(0.05, 0.3))
    browser.close()


# ----------------------------------------------------------------------------- drill


def full_disk(processes_env: dict[str, str], port_holder: list[int]) -> dict[str, Any]:
    """An upload onto a 1 MB tmpfs: the answer, and what is left on it."""
    tiny = DRILL_DIR / "tiny-media"
    tiny.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)], check=True)
    web = None
    try:
        env = {**processes_env, "JOBLINE_MEDIA_ROOT": str(tiny)}
        port = free_port()
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "jobline.wsgi:application",
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(3)
        browser = Browser(port)
        sign_in(browser, {"login_url": LOGIN_URL, "email": STAFF[0], "password": DEMO_PASSWORD})
        number = query(DATABASE, "SELECT number FROM jobs_job ORDER BY number LIMIT 1")[0][0]
        page = browser.send("GET", f"/jobs/{number}/")
        boundary = "drillboundary"
        pdf = b"%PDF-1.4\n" + b"%" * (3 * 1024 * 1024) + b"\n%%EOF\n"
        token = htmx_csrf_token(page)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
            f"{token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="visibility"\r\n\r\n'
            "internal\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
            + pdf
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        browser.connection.request(
            "POST",
            f"/jobs/{number}/files/",
            body=b"".join(parts),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
                "Origin": browser.origin,
                "Referer": browser.origin + f"/jobs/{number}/",
            },
        )
        response = browser.connection.getresponse()
        text = response.read().decode(errors="replace")
        left = [str(p) for p in tiny.rglob("*") if p.is_file()]
        return {
            "status": response.status,
            "message": "run out of space" in text,
            "files_left": left,
        }
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        subprocess.run(["umount", str(tiny)], check=False)


def main() -> int:
    seconds = float(os.environ.get("DRILL_SECONDS") or 300)
    users = int(os.environ.get("DRILL_USERS") or 50)
    shutil.rmtree(DRILL_DIR, ignore_errors=True)
    DRILL_DIR.mkdir(parents=True)
    media = DRILL_DIR / "media"
    fresh_database(DATABASE)

    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = env_for(
        DATABASE,
        media,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
    )
    print("drill: migrate, collectstatic, demo data", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage({**env, "JOBLINE_ENV": "development", "DJANGO_DEBUG": "0"}, "demo")
    numbers = [
        n
        for (n,) in query(
            DATABASE, "SELECT number FROM jobs_job WHERE archived_at IS NULL AND closed_at IS NULL"
        )
    ]
    boards = [p for (p,) in query(DATABASE, "SELECT id FROM pipelines_pipeline")]
    processes = Processes(env)
    processes.start()
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(
            target=simulated_user,
            args=(processes.port, STAFF[i % 3], numbers, boards, until, tally, i),
        )
        for i in range(users)
    ]
    for thread in threads:
        thread.start()
    events: dict[str, tuple[float, float]] = {}
    print(f"drill: {users} users for {seconds:.0f} s on :{processes.port}", flush=True)
    time.sleep(seconds * 0.3)
    began = time.monotonic()
    subprocess.run([*pg_cluster(), "restart"], check=True)
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode != 0:
        time.sleep(0.1)
    events["PostgreSQL restart"] = (began, time.monotonic())
    print(f"drill: PostgreSQL restarted in {events['PostgreSQL restart'][1] - began:.1f} s")
    time.sleep(max(0.0, started + seconds * 0.6 - time.monotonic()))
    began = time.monotonic()
    assert processes.worker is not None
    processes.worker.send_signal(signal.SIGKILL)
    processes.worker.wait()
    time.sleep(2)  # systemd's RestartSec
    processes.start_worker()
    events["worker kill -9"] = (began, time.monotonic())
    print("drill: worker killed and started again", flush=True)
    for thread in threads:
        thread.join()
    # Let the outbox drain: 5 s digests, and the lease for the killed worker's task.
    deadline = time.monotonic() + 120
    pending_sql = (
        "SELECT count(*) FROM notifications_outgoingemail WHERE status IN "
        "('waiting', 'retrying', 'sending')"
    )
    while query(DATABASE, pending_sql)[0][0] and time.monotonic() < deadline:
        time.sleep(1)
    worker_alive = processes.worker.poll() is None
    scheduler_alive = processes.scheduler is not None and processes.scheduler.poll() is None
    health = Browser(processes.port).send("GET", "/health/")
    processes.stop()
    smtp.stop()

    restart_from, restart_to = events["PostgreSQL restart"]
    failures = [(t, w, s) for t, w, s in tally.results if s >= 500]
    in_restart = [f for f in failures if restart_from - 1 <= f[0] <= restart_to + 1]
    statuses = Counter(s for _, _, s in tally.results)
    saved = {
        b for (b,) in query(DATABASE, "SELECT body FROM jobs_message WHERE body LIKE 'drill %%'")
    }
    outbox = dict(
        query(DATABASE, "SELECT status, count(*) FROM notifications_outgoingemail GROUP BY status")
    )
    sent_ids = {
        f"<jobline-{pk}@127.0.0.1>"
        for (pk,) in query(
            DATABASE, "SELECT id FROM notifications_outgoingemail WHERE status = 'sent'"
        )
    }
    delivered = {k: v for k, v in sink.ids.items() if k.startswith("<jobline-")}
    report: dict[str, Any] = {
        "requests": len(tally.results),
        "per_second": round(len(tally.results) / seconds, 1),
        "statuses": dict(sorted(statuses.items())),
        "failures_total": len(failures),
        "failures_during_restart_instant": len(in_restart),
        "failures_outside_restart": len(failures) - len(in_restart),
        "replies_saved_by_server": len(tally.replies),
        "replies_missing_in_db": len(set(tally.replies) - saved),
        "outbox": outbox,
        "emails_at_smtp_server": sum(delivered.values()),
        "emails_sent_twice": sum(1 for v in delivered.values() if v > 1),
        "sent_rows_not_at_server": len(sent_ids - set(delivered)),
        "worker_alive_after": worker_alive,
        "scheduler_alive_after": scheduler_alive,
        "health_after": health.status,
    }
    if os.geteuid() == 0:
        print("drill: upload onto a 1 MB tmpfs", flush=True)
        report["full_disk"] = full_disk(env, [])
    print("drill: backup, then restore into an empty database", flush=True)
    backups = DRILL_DIR / "backups"
    report["backup"] = manage(env, "backup", str(backups)).strip()
    fresh_database(RESTORED)
    restored_env = {
        **env,
        "DATABASE_URL": url(RESTORED),
        "JOBLINE_MEDIA_ROOT": str(DRILL_DIR / "restored-media"),
    }
    report["restore"] = manage(restored_env, "restore", str(next(backups.iterdir()))).strip()
    print(json.dumps(report, indent=2))
    ok = (
        report["failures_outside_restart"] == 0
        and report["replies_missing_in_db"] == 0
        and report["emails_sent_twice"] == 0
        and report["sent_rows_not_at_server"] == 0
        and not outbox.get("waiting")
        and not outbox.get("sending")
        and worker_alive
        and scheduler_alive
        and report.get("full_disk", {}).get("files_left", []) == []
    )
    print("drill: " + ("everything held" if ok else "SOMETHING DID NOT HOLD"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
