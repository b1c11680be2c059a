"""The examples of the docs pages the README links run as written (the probe in your own loop
and the Lightning callback, in docs/probes.md), and the README stays a page a newcomer reads (at
most 220 lines). The README's notebook example runs in a real Jupyter kernel, under the default
executor, in tests/report/test_notebook.py."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PROBES_DOC = README.parent / "docs" / "probes.md"

def notebook_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- notebook-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no python block after <!-- notebook-example -->"
    return match.group(1)


def readme_block(marker: str, page: Path = README) -> str:
    text = page.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"{page.name} has no python block after <!-- {marker} -->"
    return match.group(1)


def test_the_readme_is_short_and_links_pages_that_exist():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 220
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (README.parent / link).is_file(), link


def run_block(code: str, cwd) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_readme_probe_loop_example(tmp_path):
    out = run_block(readme_block("probe-loop-example", PROBES_DOC), tmp_path).stdout
    assert "positive" in out and "dead" in out and "running var" in out


def test_readme_lightning_example(tmp_path):
    pytest.importorskip("lightning", reason="lightning is not installed")
    out = run_block(readme_block("lightning-example", PROBES_DOC), tmp_path).stdout
    assert "frac_positive" in out and "dead_units" in out
    assert not (tmp_path / "lightning_logs").exists()
