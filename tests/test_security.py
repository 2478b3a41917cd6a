"""The security baseline: headers, no inline script, CSRF, and production settings that refuse
to run unsafely."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Cast

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIGN_IN = reverse("accounts:login")


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.handler_attributes: list[str] = []
        self.inline_styles: list[str] = []
        self.script_srcs: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            if names.get("src"):
                self.script_srcs.append(names["src"] or "")
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        if tag == "style":
            self.inline_styles.append("<style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.handler_attributes.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.inline_styles.append(f"<{tag} style={value!r}>")
            if name.startswith("hx-on"):
                self.handler_attributes.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.handler_attributes.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def inline_code(html: str) -> InlineCodeFinder:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder


# --- Headers --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_page_sends_a_strict_content_security_policy() -> None:
    response = Client().get(SIGN_IN)

    assert response.status_code == 200
    directives = csp_directives(response.headers["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives.get("default-src", [])
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]


@pytest.mark.django_db
def test_sign_in_page_forbids_framing_and_content_sniffing() -> None:
    response = Client().get(SIGN_IN)

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (reverse("dashboard"), 200),
        (reverse("customers:list"), 200),
        (SIGN_IN, 302),  # already signed in: sent on to the dashboard
        ("/no-such-page/", 404),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(
    as_admin: Client, url: str, status: int
) -> None:
    response = as_admin.get(url)

    assert response.status_code == status
    directives = csp_directives(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in directives["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_error_responses_carry_the_security_headers() -> None:
    response = Client().post(SIGN_IN, {"username": "x@example.com", "password": "nope"})

    assert response.status_code == 400
    assert "Content-Security-Policy" in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"


# --- No inline script ---------------------------------------------------------------------


ANONYMOUS_PAGES = ["accounts:login", "workspaces:signup", "accounts:password_reset"]
MEMBER_PAGES = [
    "dashboard",
    "customers:list",
    "customers:create",
    "workspaces:settings_general",
    "workspaces:settings_members",
]


def assert_no_inline_code(html: str) -> None:
    found = inline_code(html)
    assert found.inline_scripts == [], "inline <script> without src is blocked by the CSP"
    assert found.handler_attributes == [], "inline event handlers are blocked by the CSP"
    assert found.inline_styles == [], "inline styles are blocked by style-src 'self'"
    # Every script the page loads is our own (same-origin, under STATIC_URL).
    for src in found.script_srcs:
        assert src.startswith("/" + settings.STATIC_URL.lstrip("/")), src


@pytest.mark.parametrize("url_name", ANONYMOUS_PAGES)
@pytest.mark.django_db
def test_public_page_has_no_inline_script(url_name: str) -> None:
    response = Client().get(reverse(url_name))

    assert response.status_code == 200
    assert_no_inline_code(response.content.decode())


@pytest.mark.parametrize("url_name", MEMBER_PAGES)
def test_admin_page_has_no_inline_script(as_admin: Client, url_name: str) -> None:
    response = as_admin.get(reverse(url_name))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" in html  # the page does load scripts, from files
    assert_no_inline_code(html)


def test_customer_profile_has_no_inline_script(as_admin: Client, cast: Cast) -> None:
    response = as_admin.get(reverse("customers:detail", args=[cast.customer.pk]))

    assert response.status_code == 200
    assert_no_inline_code(response.content.decode())


def test_inline_script_finder_does_catch_inline_script() -> None:
    """Guards the guard: the parser used above really sees the things it looks for."""
    found = inline_code(
        '<script src="/static/a.js"></script><script>alert(1)</script>'
        '<button onclick="x()">b</button><p style="color:red">c</p>'
    )

    assert found.inline_scripts == ["alert(1)"]
    assert found.handler_attributes == ["<button onclick='x()'>"]
    assert found.inline_styles == ["<p style='color:red'>"]
    assert found.script_srcs == ["/static/a.js"]


# --- CSRF ----------------------------------------------------------------------------------


def test_sign_in_without_csrf_token_is_forbidden(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(SIGN_IN, {"username": cast.admin.email, "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_sign_in_with_the_pages_csrf_token_is_accepted(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(SIGN_IN)
    token = str(page.context["csrf_token"])  # the template engine gets it lazily

    response = client.post(
        SIGN_IN,
        {"username": cast.admin.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_sign_out_without_csrf_token_is_forbidden_and_keeps_the_session(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 403
    assert client.get(reverse("dashboard")).status_code == 200


def test_member_change_without_csrf_token_is_forbidden(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    response = client.post(
        reverse("workspaces:member_invite"), {"email": "new@harbour.test", "role": "staff"}
    )

    assert response.status_code == 403


def test_session_and_csrf_cookies_are_http_only_and_same_site(cast: Cast) -> None:
    client = Client()
    client.get(SIGN_IN)
    client.post(SIGN_IN, {"username": cast.admin.email, "password": PASSWORD})

    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    csrf_cookie = client.cookies[settings.CSRF_COOKIE_NAME]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"] == "Lax"
    assert csrf_cookie["httponly"] is True


# --- Production settings -------------------------------------------------------------------


def production_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE would trip the deploy check's async.E001.
    for name in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    env["JOBLINE_ENV"] = "production"
    env["DJANGO_SETTINGS_MODULE"] = "jobline.settings"
    env.update(extra)
    return env


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_python(["manage.py", "check"], production_env())

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_an_empty_secret_key() -> None:
    result = run_python(["manage.py", "check"], production_env(DJANGO_SECRET_KEY=""))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_development_starts_without_a_secret_key() -> None:
    env = production_env(JOBLINE_ENV="development")

    result = run_python(["manage.py", "check"], env)

    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deploy_check_with_no_warnings() -> None:
    env = production_env(DJANGO_SECRET_KEY=strong_key(), ALLOWED_HOSTS="jobline.example.com")

    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PRINT_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({
    name: getattr(s, name)
    for name in [
        "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_HTTPONLY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
        "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "ALLOWED_HOSTS",
    ]
}))
"""


def test_production_cookies_are_secure_and_http_only() -> None:
    env = production_env(DJANGO_SECRET_KEY=strong_key(), ALLOWED_HOSTS="jobline.example.com")

    result = run_python(["-c", PRINT_SETTINGS], env)

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ALLOWED_HOSTS"] == ["jobline.example.com"]


def test_production_allows_no_host_unless_configured() -> None:
    env = production_env(DJANGO_SECRET_KEY=strong_key())

    result = run_python(["-c", PRINT_SETTINGS], env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["ALLOWED_HOSTS"] == []
