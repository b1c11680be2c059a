"""Claims evaluated from a real SQLite store holding planted runs (accuracies and probe records
chosen for each outcome), through the same path ``layerorder study report`` takes."""

from pathlib import Path

import numpy as np
import pytest

from layerorder.experiment.runner import run_specs
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


def _plant(path: Path, study, outcome: str) -> None:
    advantage, fractions = PLANTS[outcome]
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
    (exp,) = result.experiments
    assert exp.runs == exp.finished == 12 and exp.experiment.endswith("pair@quick")


def test_claims_of_an_experiment_not_stored_are_not_run(tmp_path):
    study = parse_study(STUDY, Path("planted.toml"))
    result = evaluate_study(study, "quick", tmp_path / "missing.db")
    assert all(c.verdict.outcome == "undecided" and "no finished runs" in c.verdict.evidence
               for c in result.claims)
    assert not (tmp_path / "missing.db").exists()
