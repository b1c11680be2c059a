"""Run keys are pinned: a change that would orphan stored runs fails here (or brings a migration).

Each key below is the one that stores written by earlier versions hold for that configuration.
"""

import json
import sqlite3

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import RunConfig, make_config
from layerorder.experiment.execution.runner import run_specs
from layerorder.store import Store, config_hash

PINNED = [
    ({}, "78b72fbd3b88f3bc"),
    (
        {
            "arch": "mlp",
            "dataset": "digits",
            "orders": ["standard"],
            "seeds": [3],
            "lr": [0.1],
            "optimizer": "sgd",
        },
        "17bbf59709d9357e",
    ),
    ({"amp": True, "orders": ["preact"], "seeds": [0]}, "2802d70d506e905e"),
    (
        {
            "dataset": "synthetic",
            "data_options": {"num_samples": 500},
            "arch": "resnet",
            "depth": 8,
            "orders": ["full-preact"],
            "seeds": [1],
            "epochs": 3,
            "width": 8,
        },
        "c4f87ce42f3f9299",
    ),
]


@pytest.mark.parametrize("values,key", PINNED)
def test_run_key_is_pinned(values, key):
    assert run_specs(make_config(values))[0].run_key == key


def test_execution_settings_never_change_a_key():
    base = run_specs(make_config({}))[0].run_key
    for values in (
        {"executor": "stacked"},
        {"workers": 2},
        {"compile": True},
        {"name": "x"},
        {"device": "cpu"},
        {"max_retries": 0},
    ):
        assert run_specs(make_config(values))[0].run_key == base, values


def test_new_settings_at_their_default_keep_old_keys():
    cfg = RunConfig(order="standard", seed=0, lr=0.01)
    assert "grad_clip" not in cfg.to_dict() and "amp" not in cfg.to_dict()
    clipped = make_config({"grad_clip": 1.0})
    assert run_specs(clipped)[0].config["grad_clip"] == 1.0
    assert run_specs(clipped)[0].run_key != PINNED[0][1]


def test_dropout_rate_is_left_out_where_the_model_has_no_dropout():
    resnet = {"arch": "resnet", "orders": ["original"], "seeds": [0]}
    a = run_specs(make_config({**resnet, "p_drop": 0.0}))[0]
    b = run_specs(make_config({**resnet, "p_drop": 0.3}))[0]
    assert a.run_key == b.run_key and "p_drop" not in a.config
    notes = make_config({**resnet, "p_drop": 0.3}).not_applied()
    assert len(notes) == 1 and "p_drop" in notes[0] and "left out of the run key" in notes[0]
    assert make_config(resnet).not_applied() == []  # at its default: nothing to say
    mlp = run_specs(make_config({"arch": "mlp", "p_drop": 0.3}))[0]
    assert mlp.config["p_drop"] == 0.3


def test_final_norm_is_in_the_key_only_when_off_and_for_plain_stacks():
    """``--no-final-norm`` changes what a plain stack computes (for a pre-activation order), so it
    is part of the key there; at its default and for other architectures it is left out (with a
    note), and ``--vary final_norm=true,false`` reads the words as booleans."""
    preact = {"arch": "cnn1d", "orders": ["bn-relu-conv"], "seeds": [0]}
    on, off = (run_specs(make_config({**preact, "final_norm": v}))[0] for v in (True, False))
    assert "final_norm" not in on.config and off.config["final_norm"] is False
    assert on.run_key == run_specs(make_config(preact))[0].run_key != off.run_key
    resnet = make_config({"arch": "resnet", "orders": ["original"], "final_norm": False})
    assert "final_norm" not in run_specs(resnet)[0].config
    assert any("final_norm" in n and "mlp, cnn1d and cnn2d" in n for n in resnet.not_applied())
    varied = make_config({**preact, "vary": ["final_norm=true,false"]})
    assert sorted(r.final_norm for r in varied.runs()) == [False, True]
    with pytest.raises(ConfigError, match="final_norm must be true or false"):
        make_config({**preact, "vary": ["final_norm=yes"]})


def _as_schema_1(path) -> None:
    """Take a store back to schema 1: without what later migrations added."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("ALTER TABLE runs DROP COLUMN lease_until")
        conn.execute("DROP TABLE search_steps")
        conn.execute("ALTER TABLE experiments DROP COLUMN plan_json")
        conn.execute("ALTER TABLE runs DROP COLUMN metrics_json")
        conn.execute("ALTER TABLE epochs DROP COLUMN metrics_json")
        conn.execute("DROP INDEX runs_claim")
    conn.close()


def _old_store(path, cfg_with_dropout):
    """A store as an earlier version wrote it: schema 1, p_drop in a resnet run's key."""
    with Store.open(path) as db:
        exp = db.experiment("old", {"arch": "resnet", "p_drop": 0.1})
        from layerorder.store import RunSpec

        key = config_hash(cfg_with_dropout)
        db.add_runs(exp.id, [RunSpec(key, "original", 0, 0.01, cfg_with_dropout)])
    _as_schema_1(path)


def test_migration_rekeys_runs_stored_with_a_dropout_rate_they_never_used(tmp_path):
    values = {"arch": "resnet", "orders": ["original"], "seeds": [0], "depth": 8}
    spec = run_specs(make_config(values))[0]
    old = {**spec.config, "p_drop": 0.1}
    path = tmp_path / "old.db"
    _old_store(path, old)
    conn = sqlite3.connect(path)
    (key,) = conn.execute("SELECT run_key FROM runs").fetchone()
    conn.close()
    assert key == config_hash(old) != spec.run_key
    with Store.open(path) as db:  # opening migrates
        runs = db.runs(db.find_experiment("old").id)
        assert [r.run_key for r in runs] == [spec.run_key]
        assert "p_drop" not in runs[0].config
        assert "p_drop" not in db.find_experiment("old").config
    conn = sqlite3.connect(path)
    stored = json.loads(conn.execute("SELECT config_json FROM runs").fetchone()[0])
    conn.close()
    assert config_hash(stored) == spec.run_key


def test_migration_leaves_an_experiment_whose_new_key_is_taken_whole(tmp_path):
    """Two stored resnet experiments that differed only in their (unused) dropout rate: the
    first takes the new key, the second is kept as it was, runs and all; nothing is lost."""
    path = tmp_path / "two.db"
    with Store.open(path) as db:
        from layerorder.store import RunSpec

        for p in (0.1, 0.3):
            exp = db.experiment("old", {"arch": "resnet", "p_drop": p})
            cfg = {"arch": "resnet", "p_drop": p, "order": "original", "seed": 0, "lr": 0.01}
            db.add_runs(exp.id, [RunSpec(config_hash(cfg), "original", 0, 0.01, cfg)])
    _as_schema_1(path)
    with Store.open(path) as db:
        exps = db.experiments()
        assert len(exps) == 2 and sum(len(db.runs(e.id)) for e in exps) == 2
        first, second = sorted(exps, key=lambda e: e.id)
        assert "p_drop" not in first.config and second.config["p_drop"] == 0.3
        assert "p_drop" not in db.runs(first.id)[0].config
        assert db.runs(second.id)[0].config["p_drop"] == 0.3
