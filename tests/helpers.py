"""Helpers shared by the tests: the CLI in-process and as a subprocess, a tiny grid, file
hashes, a model with torch's own dropout, the report's section ids, and the headless-Chromium
harness.

The browser harness opens a local HTML file in headless Chromium (Playwright) and reports what
a browser test needs.

The browser is Debian's ``/usr/bin/chromium``; Playwright's own browser downloads are never used.
Every request the page makes, other than the page itself and ``data:``/``blob:`` URLs, is recorded
in ``PageCheck.requests``; every one that is not a local ``file://`` URL is aborted (WebSockets
are closed before they connect), so nothing leaves the machine.

Usage::

    check = check_page(path, screenshot=tmp_path / "shot.png")
    assert check.console_errors == [] and check.requests == []

To check several pages with one browser, open it once and pass it in::

    with launch_chromium() as browser:
        a = check_page(p1, browser=browser)
        b = check_page(p2, browser=browser)
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from torch import nn

from layerorder.cli.app import main

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# A grid that trains in about a second: tiny data, tiny model.
TINY = [
    "--dataset",
    "synthetic",
    "--arch",
    "mlp",
    "--width",
    "16",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--executor",
    "sequential",
]


def run_cli(capsys, *args):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


# stores trained once per test process, keyed by their compare flags; ``tiny_store`` copies them
_TRAINED: dict[tuple[str, ...], Path] = {}


def tiny_store(capsys, db, *extra, orders="standard", seeds=1, checkpoint=True) -> Path:
    """A store holding one finished tiny experiment (``extra``: more compare flags; no report
    unless they ask for one); with ``checkpoint`` its WAL folded into the main file.

    A checkpointed store without a report is trained once per test process for each set of flags
    and copied to ``db``, so tests that write to their store never share one."""
    flags = list(extra) if "--report-path" in extra else [*extra, "--no-report"]
    args = tuple(map(str, [*TINY, "--order", orders, "--seeds", seeds, *flags]))
    cacheable = checkpoint and "--report-path" not in extra and not Path(db).exists()
    if cacheable and args in _TRAINED:
        shutil.copyfile(_TRAINED[args], db)
        return Path(db)
    code, _, err = run_cli(capsys, "compare", *args, "--store", db)
    assert code == 0, err
    if checkpoint:
        import sqlite3

        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if cacheable:
        kept = Path(tempfile.mkdtemp(prefix="layerorder-tests-")) / "s.db"
        shutil.copyfile(db, kept)
        atexit.register(shutil.rmtree, kept.parent, True)
        _TRAINED[args] = kept
    return Path(db)


def run_subprocess(*args, cwd=None, timeout=600, env=None):
    return subprocess.run(
        [sys.executable, "-m", "layerorder", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def count_runs(db: Path, status: str) -> int:
    """Runs of ``status`` in a store, read without writing (0 while it cannot be read)."""
    import sqlite3

    if not Path(db).exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            query = "SELECT count(*) FROM runs WHERE status = ?"
            return conn.execute(query, (status,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def with_torch_dropout(model: nn.Module) -> nn.Module:
    """Swap every layerorder ``Dropout`` (an ``nn.Dropout`` subclass) for a plain ``nn.Dropout``."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Dropout):
                setattr(parent, name, nn.Dropout(child.p))
    return model


# every section of the HTML report, in page order (LR and probe sections: when present)
SECTIONS = [
    "verdict",
    "results",
    "curves",
    "finals",
    "decisions",
    "reliability",
    "speed",
    "pairwise",
    "lr",
    "probes",
    "config",
    "provenance",
    "runs",
]


# ---- the browser harness ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI and containers run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Debian's launcher script adds this only when /dev/shm is small, and its check breaks when
    # /dev/shm is mounted twice (findmnt prints two lines); containers often have a 64 MB /dev/shm.
    "--disable-dev-shm-usage",
]
LAUNCH_TIMEOUT_MS = 30_000
PAGE_TIMEOUT_MS = 30_000

# URL schemes that never touch the network: the page may use them freely and they are not recorded.
_LOCAL_UNRECORDED = ("data:", "blob:")
# Chromium logs this console error for every request the harness aborts (located at the resource,
# or at the calling script for a synchronous XHR); those requests are already listed in
# PageCheck.requests, so the duplicate message is dropped from console_errors.
_ABORTED_MESSAGE = "Failed to load resource: net::ERR_BLOCKED_BY_CLIENT"

_COLLECT_JS = """() => ({
    sections: Array.from(document.querySelectorAll("section"), (s) => s.id),
    figures: Array.from(document.querySelectorAll("svg, img"), (e) => {
        const r = e.getBoundingClientRect();
        return {id: e.id || "", tag: e.tagName.toLowerCase(), width: r.width, height: r.height};
    }),
    text: document.body ? document.body.innerText : "",
})"""


@dataclass
class PageCheck:
    console_errors: list[str]  # console messages of type 'error' and page errors (uncaught)
    requests: list[str]  # every request URL except the page itself and data:/blob: URLs
    section_ids: list[str]  # id of every <section>, in document order ("" where it has none)
    figures: list[dict]  # every <svg> and <img>: {"id", "tag", "width", "height"} in CSS px
    title: str
    screenshot: Path | None
    text: str  # document.body.innerText


def chromium_available() -> str | None:
    """None when check_page can run here, else the reason it cannot."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright not installed"
    if not os.path.isfile(CHROMIUM):
        return f"{CHROMIUM} missing"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not executable"
    return None


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Debian Chromium, closed (with the Playwright driver) on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


def check_page(
    path: Path,
    *,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    browser: Browser | None = None,
) -> PageCheck:
    """Load ``path`` (until the 'load' event) and report errors, requests, sections and figures.

    ``screenshot``: where to write a full-page PNG, if wanted. ``browser``: one from
    launch_chromium() to reuse; without it a browser is launched and closed for this call.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    if browser is None:
        with launch_chromium() as own:
            return _check(own, path, screenshot, width, height)
    return _check(browser, path, screenshot, width, height)


def _check(
    browser: Browser, path: Path, screenshot: Path | None, width: int, height: int
) -> PageCheck:
    url = path.resolve().as_uri()
    requests: list[str] = []
    aborted: set[str] = set()
    errors: list[str] = []  # console errors and page errors, in order

    def on_request(request: Any) -> None:
        if request.url != url and not request.url.startswith(_LOCAL_UNRECORDED):
            requests.append(request.url)

    def route(route: Any) -> None:
        target = route.request.url
        if target.startswith(("file:",) + _LOCAL_UNRECORDED):
            route.continue_()
        else:
            aborted.add(target)
            route.abort("blockedbyclient")

    def route_web_socket(ws: Any) -> None:
        # Not connected to any server: the page sees the socket close at once.
        requests.append(ws.url)
        ws.close(code=1008, reason="blocked by the test harness")

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_page_error(error: Any) -> None:
        name = getattr(error, "name", "") or ""
        text = getattr(error, "message", None) or str(error)
        errors.append(f"{name}: {text}" if name else text)

    context = browser.new_context(
        viewport={"width": width, "height": height},
        service_workers="block",
        accept_downloads=False,
    )
    try:
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.on("request", on_request)
        context.route("**/*", route)
        context.route_web_socket("**/*", route_web_socket)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.goto(url, wait_until="load")
        found = page.evaluate(_COLLECT_JS)
        title = page.title()
        if screenshot is not None:
            screenshot = Path(screenshot)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()

    return PageCheck(
        console_errors=[
            text for text in errors if not (aborted and text.startswith(_ABORTED_MESSAGE))
        ],
        requests=requests,
        section_ids=list(found["sections"]),
        figures=list(found["figures"]),
        title=title,
        screenshot=screenshot,
        text=found["text"],
    )
