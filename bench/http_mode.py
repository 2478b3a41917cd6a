"""The HTTP mode of `make bench`: each scenario timed over HTTP through gunicorn with
production settings, at the demo's size and at 100,000 jobs, on SQLite and PostgreSQL; with
``BENCH_COMPARE=<checkout>``, another checkout of the project measured in the same sitting,
alternating with this one, for a before/after table. See bench/README.md, "Over HTTP".

The client is this process: one signed-in "browser" per server (a session cookie from the real
sign-in form, an http.client connection that is kept alive whenever the server allows it),
timing each request from the first byte sent to the last byte of the body read.
This module never imports Django or the app: each checkout's own code runs in its own
processes (its manage.py, bench/http_helper.py under it, its gunicorn).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import http.client
import json
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import timeit
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench import QUOTE_LIST_STATUS, SEARCH_WORD  # the word: a demo customer's surname too
from bench.__main__ import (
    BACKEND_NAMES,
    RESULTS_DIR,
    ROOT,
    _flag,
    _guard,
    database_url,
    prepare_postgres,
    prepare_sqlite,
)

HTTP_DIR = RESULTS_DIR / "http"
HELPER = Path(__file__).with_name("http_helper.py")
GUNICORN_CONF = Path(__file__).with_name("gunicorn_conf.py")

SIZES = ("demo", "100k")
SIZE_NAMES = {"demo": "demo", "100k": "100k"}
SCENARIO_ORDER = (
    "board", "column", "list", "search", "job", "move",
    "week", "visits", "feed", "feed_304", "feed_cold", "quotes", "quotes_search", "quotes_status",
)  # fmt: skip
# The table's backend columns, in the issue's order (not the order they are measured in).
TABLE_BACKENDS = ("sqlite", "postgres")

DEMO_WORKSPACE = "Harbour Renovations & Repairs"
DEMO_EMAIL = "owner@demo.jobline.test"
DEMO_PASSWORD = "harbour-demo-2026"

# Median targets in ms, (SQLite, PostgreSQL), from the issue. The column (first 50 cards) has
# none of its own: it is measured and shown, never marked; nor has the uncached feed. Issue
# 11's bookings pages and quote list: 20 ms on both (its "server time", in-process, is the same
# target).
ISSUE_11_KEYS = ("week", "visits", "feed", "feed_304", "quotes", "quotes_search", "quotes_status")
TARGETS: dict[tuple[str, str], tuple[float, float]] = {
    ("job", "demo"): (8, 12),
    ("job", "100k"): (12, 18),
    **{(key, size): (10, 15) for key in ("board", "list", "search") for size in SIZES},
    **{("move", size): (8, 12) for size in SIZES},
    **{(key, size): (20, 20) for key in ISSUE_11_KEYS for size in SIZES},
}
SHORT_NAMES = {
    "board": "Board shell",
    "column": "Board column",
    "list": "List page 1",
    "search": "Search",
    "job": "Job page",
    "move": "Move",
    "week": "Calendar week",
    "visits": "Job page with visits",
    "feed": "Staff feed",
    "feed_304": "Staff feed 304",
    "feed_cold": "Staff feed (cold)",
    "quotes": "Quote list",
    "quotes_search": "Quote search",
    "quotes_status": "Quote list by status",
}

BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) jobline-bench/1 (http.client)",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
    # Nothing in the app compresses pages (whitenoise only serves static files compressed).
    "Accept-Encoding": "identity",
}


class BenchFailure(Exception):
    """A response that is not what a working page answers: the sitting stops."""


def target_ms(key: str, size: str, backend: str) -> float | None:
    pair = TARGETS.get((key, size))
    if pair is None:
        return None
    return pair[0] if backend == "sqlite" else pair[1]


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile, as bench/measure.py."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def machine() -> dict[str, Any]:
    """As bench/measure.py's (which needs Django): load average and a fixed Python loop."""
    loop = min(timeit.repeat("sum(range(1_000_000))", number=1, repeat=5))
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python_loop_ms": round(loop * 1000, 2),
    }


# ----------------------------------------------------------------------------- checkouts


@dataclass
class Checkout:
    """One copy of the project to serve: this one ("after") or BENCH_COMPARE's ("before")."""

    slug: str  # "main" or "base": in file names and the JSON
    role: str  # "after" or "before": in the tables
    path: Path
    suffix: str  # appended to every database name of this checkout
    head: str = ""
    dirty: bool = False
    cookie_knob: bool = True
    static_root: Path = field(default_factory=Path)

    @property
    def title(self) -> str:
        dirty = " + uncommitted changes" if self.dirty else ""
        return f"{self.role}: {self.path} @ {self.head[:10]}{dirty}"


def make_checkout(slug: str, role: str, path: Path, suffix: str) -> Checkout:
    path = path.resolve()
    if not (path / "manage.py").is_file() or not (path / "jobline" / "settings.py").is_file():
        raise SystemExit(f"bench: {path} is not a checkout of this project (no manage.py)")
    if not (path / "bench" / "generate.py").is_file():
        raise SystemExit(f"bench: {path} has no bench/generate.py for its 100k data")

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    settings_text = (path / "jobline" / "settings.py").read_text()
    return Checkout(
        slug=slug,
        role=role,
        path=path,
        suffix=suffix,
        head=git("rev-parse", "HEAD") or "unknown",
        dirty=bool(git("status", "--porcelain", "--untracked-files=no")),
        cookie_knob="JOBLINE_SECURE_COOKIES" in settings_text,
        static_root=HTTP_DIR / "static" / slug,
    )


def database_url_for(backend: str, size: str, checkout: Checkout) -> str:
    """The 100k database is `make bench`'s own (jobline_bench, var/bench.sqlite3); the demo one
    adds ``_demo``; another checkout's add its suffix (``_base``): jobline_bench_demo_base."""
    url = database_url(backend)
    extra = ("_demo" if size == "demo" else "") + checkout.suffix
    if not extra:
        return url
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(path.stem + extra + path.suffix)}"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + extra))


def database_name(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    return urlsplit(url).path.lstrip("/")


def _clean_environ() -> dict[str, str]:
    # The developer's own settings (DJANGO_DEBUG=1, a DATABASE_URL, …) must not leak into a
    # benchmark server: every setting the app reads is set here or left at its default.
    prefixes = ("DJANGO_", "JOBLINE_", "DATABASE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("PYTHONPATH", None)
    return env


def media_root(checkout: Checkout, backend: str, size: str) -> Path:
    return HTTP_DIR / "media" / checkout.slug / f"{backend}-{size}"


def tool_env(checkout: Checkout, url: str, media: Path) -> dict[str, str]:
    """For migrate, demo and the helper: development settings with DEBUG off, as the
    in-process bench uses (nothing there depends on production's settings)."""
    env = _clean_environ()
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="jobline.settings",
        JOBLINE_ENV="development",
        DJANGO_DEBUG="0",
        JOBLINE_MEDIA_ROOT=str(media),
        JOBLINE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(checkout.path),
        PYTHONUNBUFFERED="1",
    )
    return env


def production_env(checkout: Checkout, url: str, media: Path, secret: str) -> dict[str, str]:
    """Production settings as `make serve` runs them, except plain HTTP on loopback."""
    env = _clean_environ()
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="jobline.settings",
        JOBLINE_ENV="production",
        DJANGO_SECRET_KEY=secret,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_CONN_MAX_AGE="60",
        JOBLINE_STATIC_ROOT=str(checkout.static_root),
        JOBLINE_MEDIA_ROOT=str(media),
        JOBLINE_SSL_REDIRECT="0",
        JOBLINE_SECURE_COOKIES="0",
        # Logging at INFO would write a line per request to the server's stderr.
        JOBLINE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(checkout.path),
    )
    if os.environ.get("BENCH_CACHE_URL"):
        # Production with a shared cache (sessions read from Redis): README "Settings".
        env["JOBLINE_CACHE_URL"] = os.environ["BENCH_CACHE_URL"]
    if not checkout.cookie_knob:
        # An older checkout without JOBLINE_SECURE_COOKIES: its own settings, imported whole by
        # a two-line module under var/ that turns the Secure flag off (nothing else differs).
        override = HTTP_DIR / "settings" / checkout.slug
        override.mkdir(parents=True, exist_ok=True)
        (override / "bench_http_settings.py").write_text(
            '"""Generated by bench/http_mode.py: production settings over plain HTTP."""\n'
            "from jobline.settings import *  # noqa: F403\n\n"
            "SESSION_COOKIE_SECURE = False\n"
            "CSRF_COOKIE_SECURE = False\n"
        )
        env.update(
            DJANGO_SETTINGS_MODULE="bench_http_settings",
            PYTHONPATH=f"{checkout.path}{os.pathsep}{override}",
        )
    return env


def run_step(checkout: Checkout, args: list[str], env: dict[str, str], what: str) -> str:
    """One command in the checkout's directory (its own code first on the path); its output
    is shown only when it fails."""
    done = subprocess.run(
        args, cwd=checkout.path, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-4000:])
        sys.stdout.write(done.stderr[-4000:])
        raise BenchFailure(f"{checkout.role} ({checkout.path}): {what} failed")
    return done.stdout


def run_helper(
    checkout: Checkout, action: str, spec: dict[str, Any], env: dict[str, str]
) -> dict[str, Any]:
    HTTP_DIR.mkdir(parents=True, exist_ok=True)
    output = HTTP_DIR / f"{action}-{checkout.slug}.json"
    output.unlink(missing_ok=True)
    spec = {**spec, "output": str(output)}
    args = [sys.executable, "-c", HELPER.read_text(), action, json.dumps(spec)]
    done = subprocess.run(args, cwd=checkout.path, env=env, text=True, check=False)
    if done.returncode != 0 or not output.is_file():
        raise BenchFailure(f"{checkout.role} ({checkout.path}): bench helper {action} failed")
    return json.loads(output.read_text())


def collectstatic(checkout: Checkout) -> None:
    env = production_env(checkout, "sqlite:///:memory:", HTTP_DIR / "media", "collectstatic")
    env["DJANGO_SETTINGS_MODULE"] = "jobline.settings"
    env["PYTHONPATH"] = str(checkout.path)
    checkout.static_root.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    run_step(checkout, args, env, "collectstatic")


def prepare_database(
    checkout: Checkout, backend: str, size: str, *, reset: bool, password: str
) -> tuple[str, dict[str, Any]]:
    """Makes the checkout's database for this size, migrated with its own migrations, and
    returns its URL and the plan of requests (bench/http_helper.py under that checkout)."""
    url = database_url_for(backend, size, checkout)
    _guard(database_name(url))
    media = media_root(checkout, backend, size)
    # The demo database is made fresh every sitting (a few seconds): its data is dated
    # relative to today, and the previous sitting's moves are gone.
    fresh = size == "demo"
    if fresh:
        shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True, exist_ok=True)
    if backend == "postgres":
        prepare_postgres(url, reset=fresh or reset)
    else:
        prepare_sqlite(url, reset=fresh or reset)
    env = tool_env(checkout, url, media)
    print(f"    {checkout.role}: migrate {database_name(url)}", flush=True)
    run_step(
        checkout, [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env, "migrate"
    )
    if size == "demo":
        run_step(checkout, [sys.executable, "manage.py", "demo"], env, "manage.py demo")
        spec = {
            "size": size,
            "workspace": DEMO_WORKSPACE,
            "email": DEMO_EMAIL,
            "search": SEARCH_WORD,
            "quote_status": QUOTE_LIST_STATUS,
        }
    else:
        generated = run_helper(checkout, "generate", {}, env)
        how = (
            f"generated in {generated['generated_seconds']:.0f}s"
            if generated["generated_seconds"]
            else f"kept: {generated['status']}"
        )
        print(f"    {checkout.role}: 100k workspace {how}", flush=True)
        spec = {"size": size, "password": password}
    plan = run_helper(checkout, "plan", spec, env)
    plan["password"] = DEMO_PASSWORD if size == "demo" else password
    expected = checkout.path / "jobline"
    if not Path(plan["jobline_file"]).is_relative_to(expected):
        raise BenchFailure(
            f"{checkout.role}: the plan was made by {plan['jobline_file']}, not by {expected}"
        )
    return url, plan


# ----------------------------------------------------------------------------- the browser


class _Connection(http.client.HTTPConnection):
    """Counts the TCP connections it opens, and sends without Nagle's delay, as browsers do."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, timeout=120)
        self.opened = 0

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Browser:
    """What the bench needs of a browser: cookies, one connection reused while the server
    keeps it open (HTTP/1.1 keep-alive), a fresh one when the server closed it."""

    def __init__(self, port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.connection = _Connection("127.0.0.1", port)
        self.cookies: dict[str, str] = {}
        self.secure_cookies: set[str] = set()

    def close(self) -> None:
        self.connection.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        cookies: bool = True,
    ) -> Reply:
        """``cookies=False``: as a client that has none (a calendar app fetching a feed)."""
        body = urlencode(data).encode() if data is not None else None
        sent = dict(BROWSER_HEADERS)
        if self.cookies and cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        for attempt in (1, 2):
            reused = self.connection.sock is not None
            started = time.perf_counter_ns()
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                # A kept-alive connection the server closed meanwhile: a browser sends again
                # on a new one, and so do we (the failed attempt is not timed).
                if reused and attempt == 1:
                    continue
                raise
            elapsed = (time.perf_counter_ns() - started) / 1e6
            break
        if cookies:
            self._keep_cookies(response)
        return Reply(response.status, response.headers, content, elapsed)

    def _keep_cookies(self, response: http.client.HTTPResponse) -> None:
        from http.cookies import SimpleCookie

        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                    continue
                self.cookies[name] = morsel.value
                if morsel["secure"]:
                    self.secure_cookies.add(name)


class _Forms(HTMLParser):
    """The forms of a page and their inputs, enough to fill in the sign-in form."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = {"attrs": values, "inputs": []}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None:
            self._open["inputs"].append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def sign_in(browser: Browser, plan: dict[str, Any]) -> None:
    """As a person does: open the sign-in page, fill in its form, send it with its CSRF token."""
    login_url = plan["login_url"]
    page = browser.send("GET", login_url)
    if page.status != 200:
        raise BenchFailure(f"the sign-in page {login_url} answered HTTP {page.status}")
    parser = _Forms()
    parser.feed(page.text)
    form = next(
        (
            f
            for f in parser.forms
            if any(i.get("type") == "password" for i in f["inputs"])
            and f["attrs"].get("method", "").lower() == "post"
        ),
        None,
    )
    if form is None:
        raise BenchFailure(f"no sign-in form with a password field on {login_url}")
    data: dict[str, str] = {}
    for field_ in form["inputs"]:
        name, kind = field_.get("name"), field_.get("type", "text").lower()
        if not name or kind in {"submit", "button", "checkbox", "radio"}:
            continue
        if kind == "password":
            data[name] = plan["password"]
        elif kind == "email" or name in {"username", "email"}:
            data[name] = plan["email"]
        else:
            data[name] = field_.get("value", "")
    action = form["attrs"].get("action") or login_url
    answer = browser.send(
        "POST",
        action,
        data=data,
        headers={"Origin": browser.origin, "Referer": browser.origin + login_url},
    )
    if answer.status != 302:
        errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', answer.text)
        raise BenchFailure(
            f"signing in as {plan['email']} answered HTTP {answer.status} "
            f"(expected a redirect): {' / '.join(e.strip() for e in errors)[:300]}"
        )
    if browser.secure_cookies:
        # A browser would never send a Secure cookie back over plain HTTP: the numbers would
        # be those of a signed-out visitor.
        raise BenchFailure(
            f"the server marks cookies {sorted(browser.secure_cookies)} Secure over plain HTTP"
        )


def htmx_csrf_token(page: Reply) -> str:
    """The token htmx sends in X-CSRFToken: the layout puts it in <body hx-headers>."""
    found = re.search(r'"X-CSRFToken"\s*:\s*"([^"]+)"', page.text) or re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text
    )
    if found is None:
        raise BenchFailure("no CSRF token on the board page")
    return found.group(1)


# ----------------------------------------------------------------------------- the server


class JobReader:
    """The moved job's stage and version, read from the checkout's database around each move
    (untimed): what to send, and proof that the move happened."""

    def __init__(self, backend: str, url: str, db: dict[str, Any]) -> None:
        self.backend = backend
        self.db = db
        table, pk, stage, version = (db[k] for k in ("table", "pk", "stage", "version"))
        self.sql = f'SELECT "{stage}", "{version}" FROM "{table}" WHERE "{pk}" = '
        if backend == "postgres":
            import psycopg

            self.sql += "%s"
            self.connection: Any = psycopg.connect(**pg_params(url), autocommit=True)
        else:
            self.sql += "?"
            path = url.removeprefix("sqlite:///")
            self.connection = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None
            )

    def read(self) -> tuple[int, int]:
        row = self.connection.execute(self.sql, [self.db["job_pk"]]).fetchone()
        return int(row[0]), int(row[1])

    def close(self) -> None:
        self.connection.close()


class FeedInvalidator:
    """Before each request of the uncached feed (untimed): one booking of the feed's member gets
    updated_at = now, so the feed's ETag changes and no worker has a body kept under it (as
    bench/measure.py does through the ORM)."""

    def __init__(self, backend: str, url: str, target: dict[str, Any]) -> None:
        self.backend = backend
        self.pk = target["booking_pk"]
        table, pk, column = (target[k] for k in ("table", "pk", "column"))
        self.sql = f'UPDATE "{table}" SET "{column}" = {{0}} WHERE "{pk}" = {{0}}'
        if backend == "postgres":
            import psycopg

            self.sql = self.sql.format("%s")
            self.connection: Any = psycopg.connect(**pg_params(url), autocommit=True)
        else:
            self.sql = self.sql.format("?")
            path = url.removeprefix("sqlite:///")
            self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)

    def touch(self) -> None:
        now = dt.datetime.now(dt.UTC)
        # Django's SQLite backend keeps an aware datetime as naive UTC text.
        value: Any = now if self.backend == "postgres" else str(now.replace(tzinfo=None))
        self.connection.execute(self.sql, [value, self.pk])

    def close(self) -> None:
        self.connection.close()


def pg_params(url: str) -> dict[str, Any]:
    import dj_database_url

    config = dj_database_url.parse(url)
    params = {
        "dbname": config["NAME"],
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    return {k: v for k, v in params.items() if v}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    checkout: Checkout
    backend: str
    size: str
    url: str
    plan: dict[str, Any]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)
    markers: list[dict[str, Any]] = field(default_factory=list)
    browser: Browser | None = None
    reader: JobReader | None = None
    invalidators: dict[str, FeedInvalidator] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def scenario(self, key: str) -> dict[str, Any]:
        return next(s for s in self.plan["scenarios"] if s["key"] == key)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(server: Server, *, workers: int, extra_args: list[str], secret: str) -> None:
    checkout = server.checkout
    media = media_root(checkout, server.backend, server.size)
    env = production_env(checkout, server.url, media, secret)
    marker_dir = HTTP_DIR / "markers" / f"{checkout.slug}-{server.backend}-{server.size}"
    shutil.rmtree(marker_dir, ignore_errors=True)
    marker_dir.mkdir(parents=True)
    env["BENCH_HTTP_MARKER_DIR"] = str(marker_dir)
    server.log = HTTP_DIR / f"gunicorn-{checkout.slug}-{server.backend}-{server.size}.log"
    server.port = free_port()
    pythonpath = env["PYTHONPATH"].replace(os.pathsep, ",")
    args = [
        sys.executable, "-m", "gunicorn", "jobline.wsgi:application",
        "--chdir", str(checkout.path), "--pythonpath", pythonpath,
        "--workers", str(workers), "--bind", f"127.0.0.1:{server.port}",
        "--log-level", "warning", "--error-logfile", "-",
        "--config", str(GUNICORN_CONF),
        *extra_args,
    ]  # fmt: skip
    with server.log.open("wb") as log:
        # Its own session: Ctrl+C in the terminal reaches this process, which then stops the
        # server itself (gracefully), instead of killing it halfway through a request.
        server.process = subprocess.Popen(
            args, cwd=checkout.path, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    login = server.plan["login_url"]
    deadline = time.monotonic() + 60
    while True:
        if server.process.poll() is not None:
            raise BenchFailure(
                f"gunicorn ({checkout.role}, {server.backend}, {server.size}) exited with "
                f"{server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            probe = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            probe.request("GET", login)
            status = probe.getresponse().status
            probe.close()
            if status == 200:
                break
            raise BenchFailure(f"{login} answered HTTP {status} on start:\n{server.log_tail()}")
        except OSError as error:
            if time.monotonic() > deadline:
                raise BenchFailure(
                    f"gunicorn did not answer in 60 s ({error}):\n{server.log_tail()}"
                ) from None
            time.sleep(0.2)
    while len(list(marker_dir.glob("worker-*.json"))) < workers:
        if time.monotonic() > deadline:
            raise BenchFailure(f"gunicorn's workers did not all start:\n{server.log_tail()}")
        time.sleep(0.1)
    server.markers = [json.loads(p.read_text()) for p in sorted(marker_dir.glob("worker-*"))]
    check_markers(server)


def check_markers(server: Server) -> None:
    """The served code is the checkout's, and its settings are production's over HTTP."""
    expected_code = server.checkout.path / "jobline"
    expected_db = database_name(server.url)
    for marker in server.markers:
        problems = []
        if not Path(marker["jobline_file"]).is_relative_to(expected_code):
            problems.append(f"serves {marker['jobline_file']}, not {expected_code}")
        if marker["jobline_env"] != "production" or marker["debug"]:
            problems.append(f"JOBLINE_ENV={marker['jobline_env']}, DEBUG={marker['debug']}")
        if marker["session_cookie_secure"] or marker["csrf_cookie_secure"]:
            problems.append("cookies are Secure")
        if marker["ssl_redirect"]:
            problems.append("SECURE_SSL_REDIRECT is on")
        if marker["conn_max_age"] != 60:
            problems.append(f"CONN_MAX_AGE={marker['conn_max_age']}")
        if Path(str(marker["database"])).name != Path(expected_db).name:
            problems.append(f"database {marker['database']}, not {expected_db}")
        if problems:
            raise BenchFailure(f"worker {marker['pid']}: " + "; ".join(problems))


def stop(server: Server) -> None:
    if server.browser is not None:
        server.browser.close()
    if server.reader is not None:
        server.reader.close()
    for invalidator in server.invalidators.values():
        invalidator.close()
    server.invalidators = {}
    process = server.process
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # gunicorn: finish the request, then exit
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # Its workers are in the session it leads: none may outlive it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    server.process = None


@contextlib.contextmanager
def serving(
    servers: list[Server], *, workers: int, extra_args: list[str], secret: str
) -> Iterator[list[Server]]:
    try:
        for server in servers:
            start(server, workers=workers, extra_args=extra_args, secret=secret)
            browser = Browser(server.port)
            server.browser = browser
            sign_in(browser, server.plan)
            move = server.plan.get("move")
            if move:
                board = browser.send("GET", move["board_url"])
                check_page(server, {"key": "board", "url": move["board_url"]}, board)
                server.csrf_token = htmx_csrf_token(board)
                server.reader = JobReader(server.backend, server.url, move["db"])
            for scenario in server.plan["scenarios"]:
                if scenario.get("invalidate"):
                    server.invalidators[scenario["key"]] = FeedInvalidator(
                        server.backend, server.url, scenario["invalidate"]
                    )
        yield servers
    finally:
        for server in servers:
            stop(server)


# ----------------------------------------------------------------------------- requests


def check_page(server: Server, scenario: dict[str, Any], reply: Reply) -> None:
    where = f"{server.checkout.role} {server.backend} {server.size} {scenario['key']}"
    if reply.status != scenario.get("status", 200):
        location = reply.headers.get("Location", "")
        raise BenchFailure(
            f"{where}: HTTP {reply.status} from {scenario['url']}"
            + (f" → {location}" if location else "")
            + f"\n{reply.text[:500]}\n{server.log_tail()}"
        )
    text = reply.text
    if 'type="password"' in text:
        raise BenchFailure(f"{where}: {scenario['url']} shows a sign-in form (signed out?)")
    for expected in scenario.get("expect") or []:
        if expected not in text:
            raise BenchFailure(f"{where}: {scenario['url']} does not contain {expected!r}")
    if scenario.get("cards") and text.count('id="job-card-') < scenario["cards"]:
        raise BenchFailure(f"{where}: {scenario['url']} shows no cards")


def etag_of(server: Server, url: str, *, cookies: bool) -> str:
    """The URL's current ETag, read once (untimed) and kept for the server's sitting."""
    if url not in server.etags:
        assert server.browser is not None
        reply = server.browser.send("GET", url, cookies=cookies)
        etag = reply.headers.get("ETag")
        if reply.status != 200 or not etag:
            raise BenchFailure(f"no ETag from {url} (HTTP {reply.status})")
        server.etags[url] = etag
    return server.etags[url]


def request_once(server: Server, scenario: dict[str, Any]) -> Reply:
    browser = server.browser
    assert browser is not None
    headers = dict(scenario.get("headers") or {})
    if scenario["key"] != "move":
        if scenario["key"] == "column":
            # The board's columns fetch their cards with htmx (hx-get, hx-trigger="load").
            board = browser.origin + server.plan["board_url"]
            headers.update({"HX-Request": "true", "HX-Current-URL": board})
        cookies = not scenario.get("anonymous")
        if scenario.get("if_none_match"):
            headers["If-None-Match"] = etag_of(server, scenario["url"], cookies=cookies)
        if scenario["key"] in server.invalidators:
            server.invalidators[scenario["key"]].touch()
        reply = browser.send("GET", scenario["url"], headers=headers, cookies=cookies)
        check_page(server, scenario, reply)
        return reply
    move, reader = server.plan["move"], server.reader
    assert reader is not None
    stage, version = reader.read()
    first, second = move["stages"]
    target = second if stage == first else first
    board = browser.origin + move["board_url"]
    headers.update(
        {"X-CSRFToken": server.csrf_token, "HX-Current-URL": board, "Origin": browser.origin,
         "Referer": board}
    )  # fmt: skip
    data = {"stage": target, "version": version, "from": "board"}
    reply = browser.send("POST", scenario["url"], data=data, headers=headers)
    where = f"{server.checkout.role} {server.backend} {server.size} move"
    trigger = reply.headers.get("HX-Trigger", "")
    if reply.status != 200 or "jobMoved" not in trigger or "Refused" in trigger:
        raise BenchFailure(
            f"{where}: HTTP {reply.status}, HX-Trigger {trigger!r} from {scenario['url']}"
            f"\n{reply.text[:500]}\n{server.log_tail()}"
        )
    now_stage, now_version = reader.read()
    if now_stage != target or now_version <= version:
        raise BenchFailure(
            f"{where}: answered 200 but the job is in stage {now_stage} (version {now_version}),"
            f" not {target} (after version {version})"
        )
    return reply


def measure_scenario(
    servers: list[Server], key: str, *, runs: int, warmup: int, chunk: int
) -> dict[str, dict[str, Any]]:
    """Warm-up requests on each server, then the timed ones: with two servers, ``chunk`` at a
    time on each in turn (ABBA order), so drift in the machine's load falls on both alike.
    A scenario may take fewer (``max_runs``, ``max_warmup``: the uncached feed)."""
    planned = servers[0].scenario(key)
    if planned.get("max_runs") is not None:
        runs = min(runs, planned["max_runs"])
    if planned.get("max_warmup") is not None:
        warmup = min(warmup, planned["max_warmup"])
    for server in servers:
        for _ in range(warmup):
            request_once(server, server.scenario(key))
    replies: dict[str, list[Reply]] = {s.checkout.slug: [] for s in servers}
    opened = {s.checkout.slug: s.browser.connection.opened for s in servers if s.browser}
    gc.collect()
    # The client's own garbage collection must not land inside a timed request.
    gc.disable()
    try:
        turn = 0
        while any(len(replies[s.checkout.slug]) < runs for s in servers):
            for server in servers if turn % 2 == 0 else servers[::-1]:
                done = replies[server.checkout.slug]
                for _ in range(min(chunk, runs - len(done))):
                    done.append(request_once(server, server.scenario(key)))
            turn += 1
    finally:
        gc.enable()
    results = {}
    for server in servers:
        slug = server.checkout.slug
        samples = [r.ms for r in replies[slug]]
        sizes = [len(r.body) for r in replies[slug]]
        assert server.browser is not None
        target = target_ms(key, server.size, server.backend)
        median = statistics.median(samples)
        results[slug] = {
            "key": key,
            "label": server.scenario(key)["label"],
            "url": server.scenario(key)["url"],
            "runs": runs,
            "median_ms": round(median, 2),
            "p95_ms": round(percentile(samples, 0.95), 2),
            "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2),
            "bytes": int(statistics.median(sizes)),
            "bytes_range": [min(sizes), max(sizes)],
            "statuses": dict(Counter(str(r.status) for r in replies[slug])),
            "connections": server.browser.connection.opened - opened[slug],
            "target_ms": target,
            "ok": target is None or median <= target,
            "samples_ms": [round(s, 3) for s in samples],
        }
    return results


def progress_line(server: Server, result: dict[str, Any]) -> str:
    statuses = ", ".join(f"{v} x HTTP {k}" for k, v in result["statuses"].items())
    target = result["target_ms"]
    mark = "" if target is None else (f" (< {target:g})" if result["ok"] else f" ✗ (< {target:g})")
    return (
        f"    {server.checkout.role:<6} {result['key']:<13} median {result['median_ms']:7.2f} ms"
        f"{mark}  p95 {result['p95_ms']:7.2f}  min {result['min_ms']:7.2f}"
        f"  {result['bytes']:>8,} B  {statuses}  {result['connections']} connections"
    )


# ----------------------------------------------------------------------------- tables


def _cell(result: dict[str, Any] | None, what: str = "median_ms") -> str:
    if result is None:
        return "—"
    mark = " ✗" if what == "median_ms" and not result["ok"] else ""
    return f"{result[what]:.1f} ms{mark}"


def _target_cell(key: str, size: str) -> str:
    pair = TARGETS.get((key, size))
    return "—" if pair is None else f"< {pair[0]:g} / < {pair[1]:g} ms"


def _rows(report: dict[str, Any], slug: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(scenario, size, {backend: result}) in the table's order, for one checkout."""
    for key in SCENARIO_ORDER:
        for size in report["sizes"]:
            cells = {}
            for backend in TABLE_BACKENDS:
                measured = report["results"].get(backend, {}).get(size, {}).get(slug)
                for result in measured["scenarios"] if measured else []:
                    if result["key"] == key:
                        cells[backend] = result
            if cells:
                yield key, size, cells


def _label(key: str, size: str, cells: dict[str, Any]) -> str:
    label = next(iter(cells.values()))["label"]
    return f"{SHORT_NAMES[key]}, {SIZE_NAMES[size]}: {label}"


def sitting_table(report: dict[str, Any], slug: str) -> str:
    backends = [b for b in TABLE_BACKENDS if b in report["results"]]
    names = [BACKEND_NAMES[b] for b in backends]
    lines = [
        "| Scenario | "
        + " | ".join(f"{n} median | {n} p95" for n in names)
        + " | Target (SQLite / PostgreSQL) |",
        "|---|" + "---:|---:|" * len(backends) + "---:|",
    ]
    for key, size, cells in _rows(report, slug):
        values = []
        for backend in backends:
            values += [_cell(cells.get(backend)), _cell(cells.get(backend), "p95_ms")]
        lines.append(
            f"| {_label(key, size, cells)} | "
            + " | ".join(values)
            + f" | {_target_cell(key, size)} |"
        )
    return "\n".join(lines)


def compare_table(report: dict[str, Any], before: str, after: str) -> str:
    backends = [b for b in TABLE_BACKENDS if b in report["results"]]
    header = "| Scenario |"
    rule = "|---|"
    for backend in backends:
        name = BACKEND_NAMES[backend]
        header += f" {name} before | {name} after | change |"
        rule += "---:|---:|---:|"
    lines = [header + " Target (SQLite / PostgreSQL) |", rule + "---:|"]
    after_rows = {(k, s): c for k, s, c in _rows(report, after)}
    before_rows = {(k, s): c for k, s, c in _rows(report, before)}
    for (key, size), cells in after_rows.items():
        old = before_rows.get((key, size), {})
        values = []
        for backend in backends:
            new_result, old_result = cells.get(backend), old.get(backend)
            change = "—"
            if new_result and old_result:
                ratio = new_result["median_ms"] / old_result["median_ms"] - 1
                change = f"{ratio * 100:+.0f}%"
            values += [_cell(old_result), _cell(new_result), change]
        lines.append(
            f"| {_label(key, size, cells)} | "
            + " | ".join(values)
            + f" | {_target_cell(key, size)} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the sitting


def _wanted(name: str, default: str, allowed: tuple[str, ...] | dict[str, str]) -> list[str]:
    wanted = [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]
    unknown = [x for x in wanted if x not in allowed]
    if unknown:
        raise SystemExit(f"bench: unknown {name} value(s) {unknown}; use {', '.join(allowed)}")
    return wanted


def run(*, reset_this: bool) -> int:
    """Every backend and size, every scenario, over HTTP; returns the exit status."""
    backends = _wanted("BENCH_BACKENDS", "postgres,sqlite", BACKEND_NAMES)
    sizes = [s for s in SIZES if s in _wanted("BENCH_SIZES", "demo,100k", SIZES)]
    runs = int(os.environ.get("BENCH_RUNS") or 30)
    warmup = int(os.environ.get("BENCH_HTTP_WARMUP") or 10)
    chunk = max(1, int(os.environ.get("BENCH_COMPARE_CHUNK") or 5))
    workers = int(os.environ.get("BENCH_HTTP_WORKERS") or 2)
    extra_args = shlex.split(os.environ.get("BENCH_GUNICORN_ARGS", ""))
    only = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
    reset = _flag("BENCH_RESET")

    this = make_checkout("main", "after", ROOT, "")
    checkouts = [this]
    compare = os.environ.get("BENCH_COMPARE", "").strip()
    if compare:
        other = make_checkout(
            "base", "before", Path(compare), os.environ.get("BENCH_COMPARE_SUFFIX", "_base")
        )
        if other.path == this.path or not other.suffix:
            raise SystemExit("bench: BENCH_COMPARE must be another checkout, with a suffix")
        checkouts = [other, this]

    print("\n# Over HTTP: gunicorn, production settings, plain HTTP on loopback\n")
    for checkout in checkouts:
        print(f"- {checkout.title}")
        if not checkout.cookie_knob:
            print(
                "  (no JOBLINE_SECURE_COOKIES in its settings: served with a generated settings"
                " module under var/bench/http/settings/ that imports its settings and turns"
                " the cookies' Secure flag off; nothing else differs)"
            )
    print(
        f"- {workers} gunicorn workers each ({' '.join(extra_args) or 'sync workers'});"
        f" {warmup} warm-up and {runs} timed requests per scenario"
        + (f", alternating {chunk} at a time between the checkouts" if compare else ""),
        flush=True,
    )
    before = machine()
    print(
        f"- machine: {before['cpus']} CPUs, load average {before['load_average'][0]:.2f}, "
        f"sum(range(10**6)) in {before['python_loop_ms']:.1f} ms",
        flush=True,
    )
    if before["load_average"][0] > 0.5 * (before["cpus"] or 1):
        print("  (load above half the CPUs: other work may inflate these timings)", flush=True)

    started = dt.datetime.now(dt.UTC)
    secret = secrets.token_urlsafe(50)
    password = secrets.token_urlsafe(16)
    report: dict[str, Any] = {
        "mode": "http",
        "started": started.isoformat(timespec="seconds"),
        "sizes": sizes,
        "runs": runs,
        "warmup": warmup,
        "chunk": chunk,
        "workers": workers,
        "gunicorn_args": extra_args,
        "machine_before": before,
        "checkouts": {
            c.slug: {
                "role": c.role,
                "path": str(c.path),
                "head": c.head,
                "dirty": c.dirty,
                "secure_cookies_knob": c.cookie_knob,
            }
            for c in checkouts
        },
        "results": {},
    }
    for checkout in checkouts:
        collectstatic(checkout)
    skipped = []
    for backend in backends:
        title = BACKEND_NAMES[backend]
        print(f"\n## {title} over HTTP\n", flush=True)
        if backend == "postgres":
            try:
                import psycopg

                psycopg.connect(
                    **{**pg_params(database_url(backend)), "dbname": "postgres"}
                ).close()
            except Exception as error:  # an unreachable server skips this backend, loudly
                print(f"  {title} is not available ({error}); skipped.")
                skipped.append(backend)
                continue
        for size in sizes:
            print(f"  ### {SIZE_NAMES[size]} size", flush=True)
            servers = []
            for checkout in checkouts:
                url, plan = prepare_database(
                    checkout,
                    backend,
                    size,
                    reset=reset and (checkout is not this or reset_this),
                    password=password,
                )
                # The column is fetched from the board's page (its HX-Current-URL), measured
                # or not.
                plan["board_url"] = next(s["url"] for s in plan["scenarios"] if s["key"] == "board")
                if only:
                    plan["scenarios"] = [s for s in plan["scenarios"] if s["key"] in only]
                servers.append(Server(checkout, backend, size, url, plan))
            # With BENCH_COMPARE, the scenarios both checkouts define (an older one may not
            # have issue 11's bookings).
            keys = [s["key"] for s in servers[0].plan["scenarios"]]
            for server in servers[1:]:
                theirs = [s["key"] for s in server.plan["scenarios"]]
                left_out = [k for k in [*keys, *theirs] if k not in keys or k not in theirs]
                if left_out:
                    print(f"    not in both checkouts, not measured: {', '.join(left_out)}")
                keys = [k for k in keys if k in theirs]
            for server in servers:
                for what in ("bookings", "quotes"):
                    skipped_here = server.plan["facts"].get(f"{what}_skipped")
                    if skipped_here:
                        print(f"    {server.checkout.role}: no {what} scenarios ({skipped_here})")
            with serving(servers, workers=workers, extra_args=extra_args, secret=secret):
                for server in servers:
                    where = ", ".join(
                        f"pid {m['pid']}: {Path(m['jobline_file']).parent}" for m in server.markers
                    )
                    print(
                        f"    {server.checkout.role}: 127.0.0.1:{server.port}, "
                        f"{server.plan['facts']['jobs']:,} jobs, signed in as "
                        f"{server.plan['email']}; workers serve {where}",
                        flush=True,
                    )
                per_slug: dict[str, list[dict[str, Any]]] = {c.slug: [] for c in checkouts}
                for key in keys:
                    results = measure_scenario(servers, key, runs=runs, warmup=warmup, chunk=chunk)
                    for server in servers:
                        print(progress_line(server, results[server.checkout.slug]), flush=True)
                        per_slug[server.checkout.slug].append(results[server.checkout.slug])
                report["results"].setdefault(backend, {})[size] = {
                    server.checkout.slug: {
                        "database": database_name(server.url),
                        "facts": server.plan["facts"],
                        "scenarios_from": server.plan.get("scenarios_from"),
                        "markers": server.markers,
                        "scenarios": per_slug[server.checkout.slug],
                    }
                    for server in servers
                }
    report["machine_after"] = machine()
    report["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not report["results"]:
        print("bench: no backend could be measured over HTTP")
        return 1

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    output = RESULTS_DIR / f"http-{stamp}.json"
    output.write_text(json.dumps(report, indent=2))
    shutil.copyfile(output, RESULTS_DIR / "http.json")

    after_load = report["machine_after"]["load_average"][0]
    print(
        f"\n## Over HTTP: medians of {runs} requests (load average {before['load_average'][0]:.2f}"
        f" before, {after_load:.2f} after); ✗ = over the target\n"
    )
    for checkout in checkouts[::-1]:
        print(f"{checkout.title}\n")
        print(sitting_table(report, checkout.slug))
        print()
    if compare:
        print("Before/after, the same sitting, alternating (medians):\n")
        print(compare_table(report, "base", "main"))
        print()
    missed = [
        f"{BACKEND_NAMES[b]} {size} {r['key']}"
        for b, by_size in report["results"].items()
        for size, by_slug in by_size.items()
        for r in by_slug["main"]["scenarios"]
        if not r["ok"]
    ]
    print("Every target met." if not missed else f"Targets missed: {', '.join(missed)}")
    print(f"Saved {output.relative_to(ROOT)} (and var/bench/http.json)")
    return 1 if skipped else 0


def main(*, reset_this: bool = True) -> int:
    # `kill` (SIGTERM) takes the same way out as Ctrl+C: every server is stopped first.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(reset_this=reset_this)
    except BenchFailure as failure:
        print(f"\nbench: over HTTP: {failure}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
