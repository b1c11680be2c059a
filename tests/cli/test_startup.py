"""The commands that only answer (the version, the help, the vocabulary, a usage error) import
neither torch nor the statistics nor matplotlib: each is checked in a fresh interpreter, by the
modules it leaves loaded (the times themselves are measured by benchmarks/bench_cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "scipy", "matplotlib", "pandas", "statsmodels", "pyarrow")

# what runs, in a fresh interpreter: the command, then the heavy modules left loaded
SCRIPT = f"""
import json, sys
from layerorder.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""

ANSWERS = [
    (["--version"], 0),
    (["--help"], 0),
    (["compare", "--help"], 0),
    (["compare", "--bogus"], 2),
    (["compare", "--seeds"], 2),
    (["search", "--help"], 0),
    (["probe", "--help"], 0),
    (["lint", "--help"], 0),
    (["rewrite", "--bogus"], 2),
    (["report", "--help"], 0),
    (["runs", "--help"], 0),
    (["export", "--bogus"], 2),
    (["orders"], 0),
    (["orders", "conv-relu-bn"], 0),
    (["datasets"], 0),
    (["datasets", "mnist1d"], 0),
    (["study", "--help"], 0),
    (["study", "run", "--bogus"], 2),
    (["study", "list"], 0),
    (["study", "show", "bn-activation"], 0),
    (["nosuchcommand"], 2),
]


def _run(args: list[str], columns: int = 80) -> tuple[dict, str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                          env=env, timeout=120)
    return json.loads(proc.stderr.strip().splitlines()[-1]), proc.stdout


@pytest.mark.parametrize(("args", "code"), ANSWERS, ids=[" ".join(a) for a, _ in ANSWERS])
def test_answers_without_the_heavy_imports(args, code):
    result, _ = _run(args)
    assert result["code"] == code
    assert result["heavy"] == []


def test_a_command_that_trains_does_import_torch():
    """The check above can fail: a command that builds a model does load torch."""
    result, _ = _run(["lint", "torchvision:nosuchmodel"])
    assert "torch" in result["heavy"]


def test_compare_help_has_panels_and_cuts_nothing_at_80_columns():
    _, text = _run(["compare", "--help"])
    for panel in ("What to compare", "Training", "Statistics", "Execution", "Output"):
        assert f"─ {panel} ─" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for flag in ("--until-decided", "--no-until-decided", "--report-path", "--max-seeds"):
        assert flag in text


@pytest.mark.parametrize("command", ["", "lint", "search", "probe", "study run", "export", "fold"])
def test_other_helps_cut_nothing_at_80_columns(command):
    _, text = _run([*command.split(), "--help"])
    assert "Usage" in text
    assert "…" not in text


def test_help_paragraphs_wrap_at_the_terminal():
    """A docstring's line breaks are not kept: the text is wrapped to the terminal's width."""
    from layerorder.cli.app import reflow

    assert reflow("First line.\n\n    Second paragraph\n    goes on.\n") == (
        "First line.\n\nSecond paragraph goes on.")
    assert reflow("Head.\n\n- one\n- two") == "Head.\n\n- one\n- two"
