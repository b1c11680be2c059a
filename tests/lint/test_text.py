"""A lint report as text (``layerorder.lint.text``): ``str(report)`` is what ``layerorder lint``
prints, line for line, without colour."""

from __future__ import annotations

from pathlib import Path

from layerorder.lint import lint_any, load_target
from tests.helpers import run_cli

MODELS = Path(__file__).with_name("lint_models.py")


def test_str_is_what_the_command_prints(capsys):
    target = f"{MODELS}:linear_relu_dropout_bn"
    code, out, _ = run_cli(capsys, "lint", target)
    report = lint_any(load_target(target).model, target=target)
    assert code == 0
    assert [line.rstrip() for line in str(report).splitlines()] == [
        line.rstrip() for line in out.splitlines()]
    assert "dropout-before-norm" in str(report) and "fix:" in str(report)
