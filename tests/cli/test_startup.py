"""The commands that only answer (the version, the help, the vocabulary, a usage error) import
neither torch nor the statistics nor matplotlib: checked in a fresh interpreter, by the modules
each leaves loaded (the times themselves are measured by benchmarks/bench_cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("torch", "scipy", "matplotlib", "pandas", "statsmodels", "pyarrow")

CUT = "-----8<----- end of a command's output"

# what runs, in a fresh interpreter: each command given (a JSON list of argument lists), one
# after the other, and after each the heavy modules loaded so far
SCRIPT = f"""
import json, sys
from layerorder.cli.app import main
results = []
for args in json.loads(sys.argv[1]):
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    results.append({{"code": code, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}})
    print({CUT!r}, flush=True)
print(json.dumps(results), file=sys.stderr)
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


def _run_all(commands: list[list[str]], columns: int = 80) -> tuple[list[dict], list[str]]:
    """Each command's code and heavy modules, and each one's output."""
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)],
                          capture_output=True, text=True, env=env, timeout=120)
    results = json.loads(proc.stderr.strip().splitlines()[-1])
    outputs = proc.stdout.split(CUT + "\n")[:-1]
    assert len(results) == len(outputs) == len(commands), proc.stderr[-2000:]
    return results, outputs


def _run(args: list[str], columns: int = 80) -> tuple[dict, str]:
    results, outputs = _run_all([args], columns)
    return results[0], outputs[0]


def test_answers_without_the_heavy_imports():
    """One interpreter answers every command in turn (an interpreter each would cost a second
    each): a heavy module loaded by one command stays loaded, so the first command that shows
    it is the one that imported it."""
    results, _ = _run_all([args for args, _ in ANSWERS])
    codes = {" ".join(args): (r["code"], code) for (args, code), r in zip(ANSWERS, results)}
    assert {k: got for k, (got, want) in codes.items() if got != want} == {}
    first = next(((" ".join(a), r["heavy"]) for (a, _), r in zip(ANSWERS, results) if r["heavy"]),
                 None)
    assert first is None, f"{first[0]!r} imports {first[1]}"


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


def test_other_helps_cut_nothing_at_80_columns():
    commands = ["", "lint", "search", "probe", "study run", "export", "fold"]
    _, texts = _run_all([[*command.split(), "--help"] for command in commands])
    for command, text in zip(commands, texts):
        assert "Usage" in text, command
        assert "…" not in text, command


def test_help_paragraphs_wrap_at_the_terminal():
    """A docstring's line breaks are not kept: the text is wrapped to the terminal's width."""
    from layerorder.cli.app import reflow

    assert reflow("First line.\n\n    Second paragraph\n    goes on.\n") == (
        "First line.\n\nSecond paragraph goes on.")
    assert reflow("Head.\n\n- one\n- two") == "Head.\n\n- one\n- two"
