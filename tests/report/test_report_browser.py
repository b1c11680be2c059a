"""The report in a real browser: headless Chromium driven by Playwright, from a file URL."""

import os
from pathlib import Path

import pytest

from layerorder.report import write_report
from tests.helpers import SECTIONS, chromium_available, launch_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    reason = chromium_available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    with launch_chromium() as b:
        yield b


def test_report_in_chromium(probed_store, tmp_path, browser):
    from tests.helpers import check_page

    page = tmp_path / "report.html"
    write_report(probed_store, page)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    check = check_page(page, screenshot=shot, browser=browser)
    assert check.console_errors == []
    assert check.requests == []
    assert check.section_ids == SECTIONS
    assert len(check.figures) >= 6
    for fig in check.figures:
        assert fig["width"] > 50 and fig["height"] > 50, fig
    assert "<script>alert(1)</script>" in check.text  # the name shows as text
    assert "simulated failure" in check.text and "diverged" in check.text
    assert shot.stat().st_size > 50_000 and shot.read_bytes()[:4] == b"\x89PNG"
