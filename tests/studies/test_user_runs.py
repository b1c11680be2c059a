"""A study whose experiments are a user's own training (a ``train = "file.py:function"`` target
and a ``command``), on the user's metric and its direction: each claim test reads that metric
the right way up, a run measure reads a reported metric, the page says what ran them and never
claims the source's regime, and a test or measure the runs cannot feed is refused when the file
is read."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from layerorder.errors import ConfigError
from layerorder.studies import evaluate_study, load_study, run_study
from layerorder.studies.run import Cell
from tests.helpers import run_cli

# val_loss per order: 'b' is lowest and its advantage over 'a' grows with params.width; 'c' is
# highest. Each seed shares a level across orders (paired), with a little noise of its own.
TRAIN = '''
import random

BASE = {"a": 1.0, "b": 0.8, "c": 1.2}


def train(trial):
    order = str(trial.order)
    width = float(trial.params.get("width", 1))
    shared = random.Random(trial.seed).gauss(0.0, 0.3)
    own = random.Random(f"{order}/{trial.seed}/{width}").gauss(0.0, 0.01)
    loss = BASE[order] - (0.05 * width if order == "b" else 0.0) + shared + own
    trial.report(1, val_loss=loss + 0.5)
    trial.report(2, val_loss=loss)
    return {"val_loss": loss}
'''

STUDY = '''
name = "mine"
version = 1
title = "My script's orders"
question = "Which order gives my pipeline the lowest validation loss?"

[scales.quick]
seeds = 6
executor = "sequential"

[[experiments]]
id = "orders"
train = "{train}:train"
orders = ["a", "b", "c"]
metric = "val_loss"
goal = "{goal}"

[[experiments]]
id = "width"
train = "{train}:train"
orders = ["a", "b"]
metric = "val_loss"
goal = "{goal}"
vary = {{ "params.width" = [1, 4, 8] }}

[[claims]]
id = "b-beats-a"
statement = "b reaches a lower validation loss than a"
source = "my notes"
experiment = "orders"
test = "accuracy"
better = "b"
than = "a"

[[claims]]
id = "ranking"
statement = "b, then a, then c"
source = "my notes"
experiment = "orders"
test = "ranking"
ranking = ["b", "a", "c"]

[[claims]]
id = "grows"
statement = "b's advantage over a grows with the width"
source = "my notes"
experiment = "width"
test = "trend"
better = "b"
than = "a"
factor = "params.width"

[[claims]]
id = "b-under"
statement = "b's final validation loss is below 1.5"
source = "my notes"
experiment = "orders"
test = "value"
measure = {{ order = "b", kind = "run", statistic = "metrics.val_loss" }}
between = [0.0, 1.5]

[[claims]]
id = "first-epoch"
statement = "b's validation loss after the first epoch is above 1"
source = "my notes"
experiment = "orders"
test = "value"
measure = {{ order = "b", kind = "run", statistic = "metrics.val_loss", epoch = 1 }}
between = [1.0, 5.0]
'''


def _loss(order: str, seed: int, width: float = 1.0) -> float:
    """The final val_loss ``train`` returns for one run, computed here directly."""
    namespace: dict = {}
    exec(TRAIN, namespace)
    reported = []
    trial = SimpleNamespace(order=order, seed=seed, params={"width": width},
                            report=lambda epoch, **m: reported.append(m))
    return namespace["train"](trial)["val_loss"]


def _study(tmp_path: Path, goal: str = "min") -> Path:
    train = tmp_path / "train.py"
    train.write_text(TRAIN)
    path = tmp_path / f"mine-{goal}.toml"
    path.write_text(STUDY.format(train=train, goal=goal))
    return path


def test_a_study_of_a_training_function_reads_its_metric_the_right_way_up(tmp_path):
    study = load_study(_study(tmp_path))
    db = tmp_path / "s.db"
    experiments = run_study(study, "quick", db)
    assert [(e.runs, e.finished) for e in experiments] == [(18, 18), (36, 36)]
    result = evaluate_study(study, "quick", db)
    verdicts = {c.claim.id: c.verdict for c in result.claims}
    assert {k: v.outcome for k, v in verdicts.items()} == {
        "b-beats-a": "supported", "ranking": "supported", "grows": "supported",
        "b-under": "supported", "first-epoch": "supported"}
    better = verdicts["b-beats-a"]
    assert better.evidence.startswith("b - a = -0.2")  # a difference in val_loss, not points
    assert "val_loss" in better.evidence and "points" not in better.evidence
    assert "no equivalence test" in better.evidence  # no margin of the user's metric was given
    assert better.reference == (-float("inf"), 0.0)  # lower is better: the claim's band
    assert better.axis == "difference in val_loss (lower is better)"
    # the page says what ran the runs and never claims the source's regime for them
    assert dict(better.regime.values)["run"].endswith("train.py:train")
    b_mean = sum(_loss("b", seed) for seed in range(6)) / 6  # the best order's mean
    assert dict(better.regime.values)["val_loss"] == pytest.approx(b_mean)
    # the varied experiment's cells are means of the metric, in its own units
    width = next(e for e in result.experiments if e.experiment.endswith("width@quick"))
    assert width.metric.name == "val_loss" and width.metric.goal == "min"
    cell = next(c for c in width.cells if c.order == "b" and "8" in c.condition)
    assert isinstance(cell, Cell) and cell.diff == pytest.approx(-0.2 - 0.05 * 8, abs=0.02)


def test_the_same_runs_read_with_the_opposite_goal_contradict_the_claims(tmp_path):
    """The direction is the metric's: read as higher-is-better, the same losses say a beats b."""
    db = tmp_path / "s.db"
    run_study(load_study(_study(tmp_path, "min")), "quick", db)
    flipped = load_study(_study(tmp_path, "max"))
    # the goal is the analysis', not the runs': the stored runs are read again, none trained
    assert run_study(flipped, "quick", db)[0].trained == 0
    outcomes = {c.claim.id: c.verdict.outcome
                for c in evaluate_study(flipped, "quick", db).claims}
    assert outcomes["b-beats-a"] == "contradicted" and outcomes["ranking"] == "contradicted"
    assert outcomes["grows"] == "contradicted"
    assert outcomes["b-under"] == "supported"  # a value claim has no direction


def test_a_command_study_from_the_cli_and_its_page(tmp_path, capsys):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent('''
        import random, layerorder
        t = layerorder.trial(order="a", seed=0)
        shared = random.Random(t.seed).gauss(0.0, 0.3)
        own = random.Random(f"{t.order}{t.seed}").gauss(0, 0.01)
        loss = {"a": 1.0, "b": 0.7}[str(t.order)] + shared + own
        t.report(1, val_loss=loss)
    '''))
    path = tmp_path / "cmd.toml"
    path.write_text(textwrap.dedent(f'''
        name = "cmd"
        title = "My script"
        question = "Does b lower my loss?"
        [scales.quick]
        seeds = 5
        [[experiments]]
        id = "pair"
        command = "{sys.executable} {script} --order {{order}} --seed {{seed}}"
        orders = ["a", "b"]
        metric = "val_loss"
        goal = "min"
        [[claims]]
        id = "b-lower"
        statement = "b lowers the validation loss"
        source = "my notes"
        experiment = "pair"
        test = "accuracy"
        better = "b"
        than = "a"
        needs = {{ depth = {{ min = 50 }} }}
    '''))
    db = tmp_path / "s.db"
    code, out, err = run_cli(capsys, "study", "run", path, "--store", db, "--executor",
                             "sequential")
    assert code == 0, err
    assert "b-lower" in out and "points" not in out
    md = tmp_path / "page.md"
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "md",
                           "-o", md)
    assert code == 0, err
    text = md.read_text()
    # the claim names a regime the script's runs cannot show: never called supported
    assert "### b-lower: agrees, outside the source's regime (claim)" in text
    assert "the user's own training does not say" in text
    assert f"layerorder study report {path} --scale quick" in text
    assert "MNIST-1D" not in text and "points of chance" not in text  # built-in studies' notes


@pytest.mark.parametrize("claim, message", [
    ('test = "stable-lr"\nhigher = "b"\nthan = "a"', "reads test accuracy"),
    ('test = "value"\nmeasure = { order = "b", kind = "run", statistic = "final_test_acc" }\n'
     "between = [0, 1]", "records no final_test_acc"),
])
def test_a_test_the_runs_cannot_feed_is_refused_when_the_file_is_read(tmp_path, claim, message):
    text = _study(tmp_path).read_text().split("[[claims]]")[0]
    path = tmp_path / "bad.toml"
    path.write_text(text + '[[claims]]\nid = "x"\nstatement = "s"\nsource = "t"\n'
                    f'experiment = "orders"\n{claim}\n')
    with pytest.raises(ConfigError, match=message):
        load_study(path)


def test_a_reported_metric_of_a_built_in_experiment_is_refused(tmp_path):
    path = tmp_path / "loop.toml"
    path.write_text(textwrap.dedent('''
        name = "loop"
        title = "t"
        [scales.quick]
        dataset = "synthetic"
        arch = "mlp"
        [[experiments]]
        id = "pair"
        orders = ["linear-bn-relu", "linear-relu-bn"]
        [[claims]]
        id = "x"
        statement = "s"
        source = "t"
        experiment = "pair"
        test = "value"
        measure = { order = "linear-bn-relu", kind = "run", statistic = "metrics.val_loss" }
        between = [0, 1]
    '''))
    with pytest.raises(ConfigError, match="runs the built-in loop"):
        load_study(path)
