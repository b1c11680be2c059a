"""--arch transformer and --arch rnn through compare: every placement trains; --warmup, --heads."""

import json

from layerorder.placements import placement_specs, recurrent_specs
from layerorder.store import Store
from tests.helpers import run_cli


def test_every_placement_trains_through_compare(tmp_path, capsys):
    db = tmp_path / "t.db"
    code, out, err = run_cli(
        capsys, "compare", "--dataset", "synthetic", "--arch", "transformer", "--width", "8",
        "--depth", "1", "--heads", "2", "--epochs", "1", "--seeds", "2", "--batch-size", "64",
        "--executor", "sequential", "--schedule", "cosine", "--warmup", "0.2",
        "--order", ",".join(placement_specs()), "--store", db, "--no-report", "--json",
    )
    assert code == 0, err
    assert set(json.loads(out)["labels"]) == set(placement_specs())
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert {r.label for r in runs} == set(placement_specs())
    assert {r.status for r in runs} == {"done"}
    assert {r.config["warmup"] for r in runs} == {0.2} and {r.config["heads"] for r in runs} == {2}


def test_every_recurrent_spec_trains_through_compare(tmp_path, capsys):
    db = tmp_path / "r.db"
    code, _, err = run_cli(
        capsys, "compare", "--dataset", "modsum", "--data-opt", "num_samples=200",
        "--data-opt", "length=6", "--arch", "rnn", "--width", "8", "--epochs", "1",
        "--seeds", "2", "--batch-size", "64", "--executor", "sequential",
        "--order", ",".join(recurrent_specs()), "--store", db, "--no-report",
    )
    assert code == 0, err
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert {r.label for r in runs} == set(recurrent_specs())
    assert {r.status for r in runs} == {"done"}


def test_transformer_mistakes_exit_2(tmp_path, capsys):
    base = ["compare", "--dataset", "synthetic", "--arch", "transformer", "--epochs", "1",
            "--store", tmp_path / "t.db", "--no-report"]
    for extra, message in (
        (["--order", "pre-lm"], "did you mean 'pre-ln'"),
        (["--order", "pre-ln", "--width", "10", "--heads", "4"], "not divisible"),
        (["--order", "pre-ln", "--warmup", "100"], "onecycle has its own warmup"),
    ):
        code, _, err = run_cli(capsys, *base, *extra)
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)
