"""docs/frameworks.md runs as written: each Keras block lints to the pattern named above it, and
the PyTorch block rewrites to the order named above it."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from layerorder.lint import LintError, lint_any, lint_model, rewrite_model
from layerorder.modelgraph.keras_graph import import_keras

DOC = Path(__file__).resolve().parents[1] / "docs" / "frameworks.md"


def blocks(kind: str) -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(rf"<!-- {kind}: ([^>]+?) -->\s*```python\n(.*?)```", text, re.S)
    assert found, f"docs/frameworks.md has no {kind} blocks"
    return found


@pytest.mark.parametrize("check, code", blocks("keras-check"), ids=lambda v: v[:30])
def test_keras_blocks_lint_to_their_pattern(check, code):
    """``<!-- keras-check: PATTERN [RULE ...] -->``: the pattern once, exactly those rules."""
    pattern, *expected_rules = check.split()
    try:
        keras = import_keras()
    except LintError:
        pytest.skip("Keras 3 is not installed")
    scope = {"keras": keras, "layers": keras.layers}
    exec(code, scope)
    report = lint_any(scope["model"])
    assert report.pattern_count(pattern) == 1, report.census
    # no redundant-bias anywhere: the page's advice, no bias right before BN
    assert {f.rule for f in report.findings} == set(expected_rules)


@pytest.mark.parametrize("order, code", blocks("torch-rewrite"))
def test_torch_block_rewrites_to_its_order(order, code):
    scope = {"nn": nn}
    exec(code, scope)
    model = scope["model"]
    assert lint_model(model).pattern_count("conv→bn→relu") == 2
    result = rewrite_model(model, to=order, example_input=torch.randn(1, 3, 8, 8))
    assert len(result.changes) == 2
    assert lint_model(result.model).pattern_count(order.replace("-", "→")) == 2


@pytest.mark.parametrize("check, code", blocks("hf-lint"))
def test_hugging_face_block_lints_from_the_cli_as_the_page_says(check, code, tmp_path, capsys):
    """``<!-- hf-lint: PLACEMENT FINAL -->``: the page's file, linted by the page's command."""
    pytest.importorskip("transformers", reason="transformers is not installed")
    from tests.helpers import run_cli

    placement, final = check.split()
    (tmp_path / "hf_models.py").write_text(code)
    factory = re.search(r"^def (\w+)\(", code, re.M).group(1)
    status, out, err = run_cli(capsys, "lint", f"{tmp_path / 'hf_models.py'}:{factory}")
    assert status == 0, err
    assert f"{placement} blocks, final norm {final}" in out and "no findings" in out
