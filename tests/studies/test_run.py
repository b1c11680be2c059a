"""Claims evaluated from a real SQLite store holding planted runs (accuracies and probe records
chosen for each outcome), through the same path ``layerorder study report`` takes."""

from pathlib import Path

import numpy as np
import pytest

from layerorder.experiment.execution.runner import run_specs
from layerorder.probe.stored import to_data
from layerorder.store import EpochRecord, Store
from layerorder.studies import evaluate_study, parse_study
from tests.studies.helpers import stage

STUDY = {
    "name": "planted",
    "title": "Planted",
    "scales": {"quick": {"dataset": "synthetic", "arch": "mlp", "seeds": 6, "epochs": 1,
                         "minutes": 0.1, "measured_on": "test"}},
    "experiments": [{"id": "pair", "orders": ["linear-bn-relu", "linear-relu-bn"],
                     "probe": True}],
    "claims": [
        {"id": "half", "statement": "s", "source": "t", "experiment": "pair", "test": "value",
         "measure": {"order": "linear-bn-relu", "stage": "input:act",
                     "statistic": "frac_positive"},
         "between": [0.45, 0.55]},
        {"id": "better", "statement": "s", "source": "t", "experiment": "pair",
         "test": "accuracy", "better": "linear-bn-relu", "than": "linear-relu-bn"},
    ],
}

PLANTS = {  # outcome -> (accuracy advantage of linear-bn-relu, its BN output's frac_positive)
    "supported": (2.0, [0.50, 0.51, 0.49, 0.50, 0.50, 0.51]),
    "contradicted": (-2.0, [0.70, 0.71, 0.69, 0.70, 0.72, 0.70]),
    "undecided": (None, [0.40, 0.60, 0.52, 0.48, 0.66, 0.45]),
}


def _plant(path: Path, study, outcome) -> None:
    """``outcome``: a key of ``PLANTS`` or its own (advantage, fractions)."""
    advantage, fractions = PLANTS[outcome] if isinstance(outcome, str) else outcome
    config = study.config("pair", "quick")
    rng = np.random.default_rng(0)
    noisy = [-0.2, 1.5, -0.3, 0.9, -1.1, 0.4]  # undecided: differences that decide nothing
    with Store.open(path) as db:
        exp = db.experiment(config.name, config.grid())
        db.add_runs(exp.id, run_specs(config))
        while (run := db.claim_next(exp.id, "planter")) is not None:
            acc = 95.0 + rng.normal(0, 0.1)
            if run.label == "linear-bn-relu":
                acc += advantage if advantage is not None else noisy[run.seed]
            epochs = [EpochRecord(1, 0.1, acc, 0.1, acc, 0.01, 1.0)]
            frac = fractions[run.seed] if run.label == "linear-bn-relu" else 0.3
            stages = [stage("features.0.linear", "Linear"),
                      stage("features.0.norm", "BatchNorm1d", frac_positive=frac),
                      stage("features.0.act", "ReLU")]
            probes = [(1, "stage", s.name, to_data(s, i)) for i, s in enumerate(stages)]
            assert db.finish_run(run.id, status="done", epochs=epochs, owner="planter",
                                 wall_time=1.0, probes=probes)


@pytest.mark.parametrize("outcome", list(PLANTS))
def test_stored_runs_give_each_outcome(tmp_path, outcome):
    study = parse_study(STUDY, Path("planted.toml"))
    db = tmp_path / "s.db"
    _plant(db, study, outcome)
    result = evaluate_study(study, "quick", db)
    assert {c.claim.id: c.verdict.outcome for c in result.claims} == {
        "half": outcome, "better": outcome
    }
    rows = result.to_pandas()  # the result's views (docs/python.md, "Results")
    assert rows.set_index("claim")["outcome"].to_dict() == {"half": outcome, "better": outcome}
    assert [c["claim"] for c in result.to_dict()["claims"]] == ["half", "better"]
    assert "half" in str(result) and outcome in str(result) and "\x1b[" not in str(result)
    assert result._repr_html_().count("</tr>") == 3  # a header and a row per claim
    (exp,) = result.experiments
    assert exp.runs == exp.finished == 12 and exp.experiment.endswith("pair@quick")


@pytest.mark.parametrize(("guard", "claim", "expected"), [
    ("supported", "supported", "supported"),
    ("contradicted", "supported", "undecided"),
    ("undecided", "supported", "undecided"),
    ("supported", "contradicted", "contradicted"),
    ("contradicted", "contradicted", "undecided"),
])
def test_a_claim_stands_only_where_its_guard_holds(tmp_path, guard, claim, expected):
    """'better' guarded by the check 'half', planted so that each comes out as given: the
    claim keeps its verdict where the guard holds, and is undecided where it does not, saying
    which guard failed; outside its source's regime it is then not reproduced."""
    half, better = STUDY["claims"]
    guarded = {**STUDY, "claims": [{**half, "kind": "check"},
                                   {**better, "guarded_by": "half"}]}
    study = parse_study(guarded, Path("guarded.toml"))
    db = tmp_path / "s.db"
    _plant(db, study, (PLANTS[claim][0], PLANTS[guard][1]))
    plain = evaluate_study(parse_study(STUDY, Path("planted.toml")), "quick", db)
    assert [c.verdict.outcome for c in plain.claims] == [guard, claim]  # no guard
    result = {c.claim.id: c.verdict for c in evaluate_study(study, "quick", db).claims}
    assert (result["half"].outcome, result["better"].outcome) == (guard, expected)
    if expected != claim:
        assert f"its guard 'half' is {guard}" in result["better"].evidence
        assert result["better"].decide == "the check 'half' to hold"
    outside = {**guarded, "claims": [{**half, "kind": "check"},
                                     {**better, "guarded_by": "half",
                                      "needs": {"depth": {"min": 56}}}]}
    far = {c.claim.id: c.verdict for c in evaluate_study(
        parse_study(outside, Path("outside.toml")), "quick", db).claims}
    if claim == "supported":
        assert far["better"].outcome == ("agrees outside regime" if expected == "supported"
                                         else "not reproduced")
        assert "depth >= 56 needed" in far["better"].decide


def test_claims_of_an_experiment_not_stored_are_not_run(tmp_path):
    study = parse_study(STUDY, Path("planted.toml"))
    result = evaluate_study(study, "quick", tmp_path / "missing.db")
    assert all(c.verdict.outcome == "undecided" and "no finished runs" in c.verdict.evidence
               for c in result.claims)
    assert not (tmp_path / "missing.db").exists()


PLANTED_OUTSIDE_TOML = """
name = "planted"
version = 1
title = "Planted"
question = "q"

[scales.quick]
dataset = "synthetic"
arch = "mlp"
seeds = 6
epochs = 1
minutes = 0.1
measured_on = "test"

[[experiments]]
id = "pair"
orders = ["linear-bn-relu", "linear-relu-bn"]
probe = true

[[claims]]
id = "half"
statement = "s"
source = "t"
experiment = "pair"
test = "value"
measure = { order = "linear-bn-relu", stage = "input:act", statistic = "frac_positive" }
between = [0.45, 0.55]
regime = { depth = 110, optimizer = "sgd" }
needs = { depth = { min = 56 }, optimizer = ["sgd"] }

[[claims]]
id = "better"
statement = "s"
source = "t"
literature = "6.37 vs 6.61 % error"
experiment = "pair"
test = "accuracy"
better = "linear-bn-relu"
than = "linear-relu-bn"
regime = { depth = 110, optimizer = "sgd" }
needs = { depth = { min = 56 }, optimizer = ["sgd"] }
"""


def test_a_stored_contradiction_outside_the_regime_is_not_reproduced_on_the_page(
        tmp_path, capsys):
    """The planted store that contradicts both claims, read with the claims' sources measured
    at depth 110 with SGD: the CLI's page and JSON say 'not reproduced', never 'contradicted'."""
    import json

    from layerorder.studies import load_study
    from tests.helpers import run_cli

    path, db = tmp_path / "planted.toml", tmp_path / "s.db"
    path.write_text(PLANTED_OUTSIDE_TOML)
    study = load_study(path)
    _plant(db, study, "contradicted")
    inside = evaluate_study(parse_study(STUDY, Path("planted.toml")), "quick", db)
    assert {c.verdict.outcome for c in inside.claims} == {"contradicted"}  # same runs, no regime
    result = evaluate_study(study, "quick", db)
    assert {c.verdict.outcome for c in result.claims} == {"not reproduced"}
    assert all("depth >= 56 needed, this scale has none set" in c.verdict.decide
               for c in result.claims)
    page, doc = tmp_path / "f.md", tmp_path / "f.json"
    for fmt, out in (("md", page), ("json", doc)):
        code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", fmt,
                               "-o", out)
        assert code == 0, err
    text = page.read_text()
    assert "CONTRADICTED" not in text and "### better: not reproduced at this scale" in text
    assert "6.37 vs 6.61 % error" in text  # the source's number beside the measured effect
    claims = json.loads(doc.read_text())["claims"]
    assert {c["outcome"] for c in claims} == {"not reproduced"}
    assert all(c["unmet"] and c["source_regime"] == {"depth": 110, "optimizer": "sgd"}
               for c in claims)
