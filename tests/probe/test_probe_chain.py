"""The stage chain: one block's stages in its own order, for every order, as a record and a
chart (``probe --plot``, the HTML report of ``compare --probe``)."""

from __future__ import annotations

import re

import pytest

from layerorder.probe.chain import ChainStep, stage_chain
from tests.helpers import run_cli

FAST = ["--dataset", "digits", "--arch", "cnn2d", "--width", "8", "--epochs", "1"]


def _step(name: str, kind: str) -> ChainStep:
    return ChainStep(name, kind, (1, 2), (-6.0, 6.0), 0.5)


def test_the_chain_is_the_first_pooled_block_in_its_own_order():
    steps = [
        _step("features.0.weight", "Conv2d"),
        _step("features.0.act", "ReLU"),
        _step("features.1.weight", "Conv2d"),
        _step("features.1.act", "ReLU"),
        _step("features.1.norm", "BatchNorm2d"),
        _step("features.1.pool", "MaxPool2d"),
        _step("head", "Linear"),
    ]
    chain = stage_chain("conv-relu-bn-maxpool", steps)
    assert chain.block == "features.1"
    assert [s.kind for s in chain.steps] == ["Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d"]


def test_without_a_pool_the_chain_is_the_second_block():
    steps = [_step(f"features.{b}.{s}", k) for b in (0, 1, 2)
             for s, k in (("weight", "Conv1d"), ("norm", "BatchNorm1d"))]
    assert stage_chain("standard", steps).block == "features.1"
    assert stage_chain("x", [_step("head", "Linear")]) is None


@pytest.mark.slow
def test_probe_plot_writes_the_four_stage_chart(tmp_path, capsys):
    out = tmp_path / "charts"
    code, _, err = run_cli(
        capsys, "probe", *FAST, "--order", "conv-bn-relu-maxpool", "--order",
        "conv-relu-bn-maxpool", "--plot", out, "--json",
    )
    assert code == 0, err
    chart = out / "stage-chains.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


@pytest.mark.slow
def test_the_report_of_a_probed_compare_shows_the_chain(tmp_path, capsys):
    page = tmp_path / "r.html"
    code, _, err = run_cli(
        capsys, "compare", *FAST, "--order", "conv-bn-relu-maxpool,conv-maxpool-bn-relu",
        "--seeds", "1", "--probe", "--executor", "sequential", "--store", tmp_path / "s.db",
        "--report-path", page,
    )
    assert code == 0, err
    text = page.read_text()
    figure = re.search(r'id="fig-stage-chains".*?</figure>', text, re.S)
    assert figure is not None and "<svg" in figure.group(0)
    for title in ("1. after weight (Conv2d)", "2. after pool (MaxPool2d)", "4. after pool"):
        assert title in figure.group(0)
