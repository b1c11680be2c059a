"""What a study experiment left in the store, read by measure: a condition's "best" level (each
arm at its own better level, as the comparison picks a best learning rate) and the checks that
keep it to one cell per level."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerorder.errors import ConfigError
from layerorder.studies import load_study
from layerorder.studies.claim_tests import parse_test
from tests.studies.helpers import WARMUP_MEANS, evidence, warmup_claim, warmup_runs


def test_best_passes_over_a_level_that_lost_runs():
    """As the comparison picks an order's best learning rate, a level where a run diverged is
    no fair best (its mean covers the survivors): pre-LN without warmup is read at 3e-3."""
    claim, _ = warmup_claim("pre-ln-without-warmup")
    lost = {("pre-ln", 0.0, 0.001, 2)}
    ev = evidence(warmup_runs(WARMUP_MEANS, diverged=lost), factors=["warmup", "depth", "lr"])
    assert ev.resolve(claim.test.a.condition, "pre-ln") == {"warmup": 0.0, "depth": 12,
                                                            "lr": 0.003}
    assert ev.resolve(claim.test.b.condition, "post-ln")["lr"] == 0.001
    with pytest.raises(ConfigError, match="'best' reads an order's own best level"):
        ev.resolve({"lr": "best"})


def _written(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_best_is_a_level_of_a_measure_only(tmp_path):
    text = (Path(__file__).parents[2] / "src/layerorder/studies/builtin"
            / "transformer-warmup.toml").read_text()
    accuracy_best = text.replace(
        'than = "post-ln"\ncondition = { warmup = "min", depth = "max", lr = "max" }',
        'than = "post-ln"\ncondition = { warmup = "min", depth = "max", lr = "best" }')
    assert accuracy_best != text
    with pytest.raises(ConfigError, match=r"lr = best is not a level .*'min', 'max'\)"):
        load_study(str(_written(tmp_path / "x.toml", accuracy_best)))


def test_best_breaks_a_tie_toward_the_lower_level_and_a_value_test_names_its_pick():
    even = {**WARMUP_MEANS, ("pre-ln", 0.0, 0.003): 82.0}  # as good as at 1e-3
    ev = evidence(warmup_runs(even), factors=["warmup", "depth", "lr"])
    claim, _ = warmup_claim("pre-ln-without-warmup")
    assert ev.resolve(claim.test.a.condition, "pre-ln")["lr"] == 0.001
    value = parse_test("value", {"measure": {**_measure(claim.test.a)}, "above": 80.0}, "x")
    v = value.evaluate(ev, 0.05)
    assert v.outcome == "supported" and "lr=best (0.001)" in v.evidence


def _measure(m) -> dict:
    return {"order": m.order, "kind": m.kind, "statistic": m.statistic,
            "condition": dict(m.condition)}


@pytest.mark.parametrize("condition,message", [
    ('{ warmup = "min", depth = "best", lr = "best" }', "'best' picks one factor's level"),
    ('{ warmup = "min", lr = "best" }', "names every other varied factor.*add depth"),
])
def test_a_best_condition_is_checked_when_the_study_is_read(tmp_path, condition, message):
    text = (Path(__file__).parents[2] / "src/layerorder/studies/builtin"
            / "transformer-warmup.toml").read_text()
    old = 'condition = { warmup = "min", depth = "max", lr = "best" } }'
    assert old in text
    path = tmp_path / "x.toml"
    path.write_text(text.replace(old, f"condition = {condition} }}", 1))
    with pytest.raises(ConfigError, match=message):
        load_study(str(path))
