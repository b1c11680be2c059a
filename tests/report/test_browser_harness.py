"""Tests of the headless-Chromium harness in tests/helpers.py, on pages written to tmp_path."""

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import check_page, chromium_available, launch_chromium

_REASON = chromium_available()
if _REASON is not None:
    pytest.skip(
        f"browser tests need Playwright and Debian Chromium ({_REASON}); "
        "`pip install playwright` and `apt-get install chromium`",
        allow_module_level=True,
    )

# A 1x1 transparent GIF: data: URLs are allowed and are not counted as requests.
GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as shared:
        yield shared


def write(tmp_path: Path, body: str, title: str = "t", name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def test_clean_page(tmp_path, browser):
    page = write(
        tmp_path,
        '<section id="intro"><h1>Intro</h1><p>Hello report</p></section>'
        '<section id="results"><svg id="chart" width="240" height="120">'
        '<rect width="240" height="120" fill="teal"/></svg>'
        f'<img src="{GIF}" style="width:30px;height:20px" alt=""></section>',
        title="Clean report",
    )
    check = check_page(page, browser=browser)
    assert check.console_errors == []
    assert check.requests == []
    assert check.section_ids == ["intro", "results"]
    assert check.figures == [
        {"id": "chart", "tag": "svg", "width": 240, "height": 120},
        {"id": "", "tag": "img", "width": 30, "height": 20},
    ]
    assert check.title == "Clean report"
    assert "Hello report" in check.text
    assert check.screenshot is None


def test_console_error_is_captured(tmp_path, browser):
    page = write(tmp_path, '<p>x</p><script>console.error("x"); console.warn("w")</script>')
    check = check_page(page, browser=browser)
    assert check.console_errors == ["x"]
    assert check.requests == []


def test_uncaught_exception_is_captured(tmp_path, browser):
    page = write(tmp_path, '<p>x</p><script>throw new Error("boom")</script>')
    check = check_page(page, browser=browser)
    assert check.console_errors == ["Error: boom"]


def test_network_image_is_recorded_and_aborted(tmp_path, browser):
    page = write(
        tmp_path,
        '<img src="http://example.invalid/a.png" '
        "onload=\"document.body.append('img loaded')\" "
        "onerror=\"document.body.append('img failed')\">",
    )
    check = check_page(page, browser=browser)
    assert check.requests == ["http://example.invalid/a.png"]
    assert "img failed" in check.text
    # Chromium's "Failed to load resource: net::ERR_BLOCKED_BY_CLIENT" for the aborted request is
    # dropped: the request itself is what is reported.
    assert check.console_errors == []


def test_fetch_and_websocket_are_recorded_and_blocked(tmp_path, browser):
    page = write(
        tmp_path,
        "<p id=out></p><script>"
        "const out = document.getElementById('out');"
        "const ws = new WebSocket('wss://example.invalid/socket');"
        "ws.onopen = () => out.append(' ws open');"
        "ws.onclose = () => out.append(' ws closed');"
        "</script>"
        # A synchronous XHR settles before the parser goes on, so before 'load' fires.
        "<script>"
        "const xhr = new XMLHttpRequest();"
        "xhr.open('GET', 'https://example.invalid/data.json', false);"
        "try { xhr.send(); out.append(' xhr ok'); } catch (e) { out.append(' xhr failed'); }"
        "</script>",
    )
    check = check_page(page, browser=browser)
    assert "https://example.invalid/data.json" in check.requests
    assert "wss://example.invalid/socket" in check.requests
    assert "xhr failed" in check.text
    assert "xhr ok" not in check.text
    assert "ws open" not in check.text
    assert check.console_errors == []  # the aborts are reported as requests, not twice


def test_local_files_are_loaded_but_recorded(tmp_path, browser):
    (tmp_path / "dot.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', encoding="utf-8"
    )
    page = write(tmp_path, '<img id="dot" src="dot.svg" style="width:50px;height:40px">')
    check = check_page(page, browser=browser)
    assert check.requests == [(tmp_path / "dot.svg").resolve().as_uri()]
    assert check.console_errors == []
    assert check.figures == [{"id": "dot", "tag": "img", "width": 50, "height": 40}]


def test_full_page_screenshot_is_a_png(tmp_path, browser):
    page = write(tmp_path, '<section id="tall" style="height:2000px">tall</section>')
    shot = tmp_path / "shots" / "page.png"
    check = check_page(page, screenshot=shot, width=800, height=600, browser=browser)
    assert check.screenshot == shot
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width == 800
    assert height >= 2000  # the whole page, not just the 600 px viewport


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        check_page(tmp_path / "nope.html")


def test_check_page_launches_its_own_browser(tmp_path):
    # In a fresh process: Playwright's sync API allows one driver per thread, and the module's
    # shared browser holds this one.
    page = write(tmp_path, '<section id="only">solo</section>', title="Solo")
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
        "from tests.helpers import check_page;"
        "c = check_page(Path(sys.argv[2]));"
        "print(c.title, c.section_ids, c.console_errors, c.requests)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parents[2]), str(page)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Solo ['only'] [] []"
