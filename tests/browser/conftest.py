"""Playwright against a live Django server, driving Debian's Chromium.

Playwright's own browser downloads are not used: the tests launch the system Chromium
(``CHROMIUM_PATH``, else ``/usr/bin/chromium``). Without it every browser test is skipped
with the reason printed, unless ``JOBLINE_REQUIRE_BROWSER=1`` (CI), where the run fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse
# the ORM calls that fixtures and tests make there (session fixtures included, hence import
# time). Subprocesses inherit it: tests that run `check --deploy` must drop it from their env.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BROWSER_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = BROWSER_DIR / "screenshots"
CHROMIUM_PATH = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
PHONE_WIDTH = 375
DESKTOP_WIDTH = 1280
VIEWPORT_HEIGHT = 800
WIDTHS = (PHONE_WIDTH, DESKTOP_WIDTH)

# Quick failures: a broken page should fail in seconds, not after Playwright's 5 s default.
expect.set_options(timeout=4_000)


def chromium_missing_reason() -> str | None:
    if CHROMIUM_PATH.is_file() and os.access(CHROMIUM_PATH, os.X_OK):
        return None
    return f"Chromium not found at {CHROMIUM_PATH}; set CHROMIUM_PATH"


def _is_browser_test(item: pytest.Item) -> bool:
    return BROWSER_DIR in Path(item.path).resolve().parents


# tryfirst: the marker must be on the items before ``-m "not browser"`` deselects by it.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_items = [item for item in items if _is_browser_test(item)]
    if not browser_items:
        return
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    reason = chromium_missing_reason()
    if reason is None:
        return
    if os.environ.get("JOBLINE_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"{reason} (JOBLINE_REQUIRE_BROWSER=1 forbids skipping)")
    print(f"\nSkipping {len(browser_items)} browser test(s): {reason}")
    skip = pytest.mark.skip(reason=reason)
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM_PATH),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Relative ``page.goto("/customers/")`` resolves against the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": DESKTOP_WIDTH, "height": VIEWPORT_HEIGHT},
        "device_scale_factor": 1,
        "locale": "en-GB",
    }


@pytest.fixture
def page(page: Page, live_server: LiveServer) -> Iterator[Page]:
    """Every browser test runs against the live server with a transactional database."""
    page.set_default_timeout(8_000)
    yield page
    # Before the live server empties the database: wait for the page's htmx requests still
    # under way (a board's columns load after the page), then leave it so it asks nothing
    # more. A server thread answering one held a table lock that the flush's TRUNCATE
    # deadlocked with on PostgreSQL, and the next test's setup failed on the rows left.
    if not page.is_closed():
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        page.goto("about:blank")


def set_width(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})


Screenshot = Callable[[Page, str], list[Path]]


@pytest.fixture
def screenshot() -> Screenshot:
    """``screenshot(page, "dashboard")`` saves dashboard-375.png and dashboard-1280.png.

    The page is left at the width it had before.
    """
    SCREENSHOT_DIR.mkdir(exist_ok=True)

    def take(page: Page, name: str) -> list[Path]:
        before = page.viewport_size
        paths = []
        for width in WIDTHS:
            set_width(page, width)
            # From the top, so the sticky top bar is not painted halfway down the capture.
            page.evaluate("() => window.scrollTo(0, 0)")
            path = SCREENSHOT_DIR / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            paths.append(path)
        if before is not None:
            page.set_viewport_size(before)
        return paths

    return take


def scroll_width(page: Page) -> int:
    """The page's full width in CSS pixels: more than the viewport means sideways scrolling."""
    return page.evaluate("() => document.documentElement.scrollWidth")


@pytest.fixture
def sign_in(page: Page) -> Callable[[str], None]:
    """Sign in through the real sign-in page and wait for the dashboard."""

    def do_sign_in(email: str, password: str = PASSWORD) -> None:
        page.goto("/accounts/sign-in/")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    return do_sign_in


AXE = Axe()
BLOCKING_IMPACTS = {"serious", "critical"}


def assert_accessible(page: Page, name: str) -> None:
    """axe-core on the page as it is, at both widths: no serious or critical violations."""
    before = page.viewport_size
    problems = []
    for width in WIDTHS:
        set_width(page, width)
        results = AXE.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(
                    f"{name} @{width}px: {violation['id']} ({violation['impact']}) "
                    f"{violation['help']} — {targets}"
                )
    if before is not None:
        page.set_viewport_size(before)
    assert not problems, "\n".join(problems)
