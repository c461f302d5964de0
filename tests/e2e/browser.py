"""Browser pages that may not leave this machine, and the screenshots the docs keep.

:func:`offline_page` opens a page in a new context of the session's Chromium whose requests to
other hosts are aborted (and recorded); the ``page`` fixture (``tests/e2e/conftest.py``) is one at
1400×900, tests that need a phone open their own (390×844).

:func:`save_screenshot` writes what the user sees when ``RIVERGRID_SCREENSHOTS`` names a folder
(relative to the repository, e.g. ``RIVERGRID_SCREENSHOTS=docs/screenshots``): the browser tests
of each page then leave ``<folder>/<name>.png``, the pictures README's page table links. Without
the setting nothing is written there (a copy may still go to the test's own ``keep`` folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SCREENSHOTS_ENV = "RIVERGRID_SCREENSHOTS"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def offline_page(
    browser: Any,
    blocked: list[Any],
    errors: list[str] | None = None,
    *,
    viewport: dict[str, int] | None = None,
    **context_options: Any,
) -> Any:
    """A new page (own context, zh-CN, ``viewport`` default 1400×900) whose requests to other hosts
    are aborted and appended to ``blocked`` (:class:`tests.e2e.conftest.BlockedRequest`); page
    errors and ``console.error`` messages go to ``errors``. Close it with ``page.context.close()``."""
    from .conftest import BlockedRequest

    context = browser.new_context(viewport=viewport or DESKTOP, locale="zh-CN", **context_options)

    def route(route: Any) -> None:
        req = route.request
        parts = urlsplit(req.url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(BlockedRequest(req.url, req.resource_type))
            route.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    return page


def screenshot_dir() -> Path | None:
    """The folder named by ``RIVERGRID_SCREENSHOTS`` (relative to the repository), or None."""
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    if not value:
        return None
    folder = Path(value)
    return folder if folder.is_absolute() else REPO / folder


def save_screenshot(page: Any, name: str, *, keep: Path | None = None, full_page: bool = False) -> Path | None:
    """Screenshot of what ``page`` shows (its viewport; ``full_page`` for the whole document) as
    ``<RIVERGRID_SCREENSHOTS>/<name>.png`` when the setting is given, and under ``keep`` (a test's
    own folder) when given. Returns the docs copy's path, or None."""
    shot = page.screenshot(full_page=full_page, animations="disabled")
    if keep is not None:
        (keep / f"{name}.png").write_bytes(shot)
    folder = screenshot_dir()
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.write_bytes(_small_png(shot))
    return path


def _small_png(png: bytes) -> bytes:
    """``png`` with a 256-colour palette (a third of the bytes; a screenshot has few colours),
    so that the pictures kept in the repository stay small."""
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(png)) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def settle(page: Any, *, quiet_ms: int = 1500, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished its script run and the page has stopped changing size
    (maps and reruns re-lay it out), so a screenshot shows the page as the user sees it."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)
    last = None
    waited = 0
    while waited < timeout_ms:
        page.wait_for_timeout(quiet_ms // 3)
        waited += quiet_ms // 3
        size = page.evaluate("() => [document.body.scrollWidth, document.body.scrollHeight, "
                             "document.querySelectorAll('iframe').length]")
        if size == last:
            break
        last = size
    page.wait_for_timeout(quiet_ms)


__all__ = ["DESKTOP", "PHONE", "SCREENSHOTS_ENV", "offline_page", "save_screenshot", "screenshot_dir", "settle"]


class NetworkSwitch:
    """A phone losing and regaining its signal: :meth:`set` turns the context offline and, while it
    is, aborts every request of its pages and service worker by route as well
    (``context.set_offline`` alone does not stop a service worker's fetches)."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.offline = False
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        if self.offline:
            route.abort("internetdisconnected")
        else:
            route.fallback()

    def set(self, *, offline: bool) -> None:
        self.offline = offline
        self.context.set_offline(offline)


def sign_in_on_phone(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in to the phone app at ``/m/`` and wait until its service worker controls the page."""
    page.goto(base_url + "/m/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("start-patrol").wait_for(timeout=60_000)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)
