import json

import pytest

from layerorder.store import Store
from tests.helpers import TINY, run_cli, sha, tiny_store


def test_compare_trains_stores_and_resumes(tmp_path, capsys):
    db = tmp_path / "s.db"
    args = ["compare", *TINY, "--order", "standard,no-norm", "--seeds", "3", "--store", db]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "Verdict" in out and "standard" in out and "no-norm" in out
    assert "Speed (not reliability): median epochs to reach" in out  # its own verdict line
    assert "6 to train" in err
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        assert len(runs) == 6 and {r.status for r in runs} == {"done"}
        assert all(len(store.epochs(r.id)) == 2 for r in runs)
        assert all(r.provenance["torch"] for r in runs)
    code, out2, err2 = run_cli(capsys, *args)
    assert code == 0 and "0 to train" in err2
    assert out2 == out  # same table, nothing trained


def test_compare_json_and_runs_and_export(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, out, _ = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--order",
        "preact",
        "--seeds",
        "2",
        "--store",
        db,
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [r["label"] for r in data["rows"]] == ["standard", "preact"]
    assert data["verdict"]["best"] in ("standard", "preact")
    (speed,) = data["speed"]
    assert speed["pairs"][0]["a"] == "standard" and speed["pairs"][0]["b"] == "preact"
    assert {o["label"] for o in speed["orders"]} == {"standard", "preact"}
    code, out, _ = run_cli(capsys, "runs", "--store", db)
    assert code == 0 and "default" in out
    code, out, _ = run_cli(capsys, "runs", "--store", db, "--experiment", "default", "--json")
    assert len(json.loads(out)) == 4
    code, out, _ = run_cli(capsys, "export", "--store", db, "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("run_id,experiment,order,seed,lr,status")
    assert len(lines) == 1 + 4 * 2  # a row per run per epoch
    target = tmp_path / "out.json"
    code, _, _ = run_cli(capsys, "export", "--store", db, "--format", "json", "-o", target)
    exported = json.loads(target.read_text())
    assert len(exported) == 4 and len(exported[0]["epochs"]) == 2
    assert set(exported[0]["epochs"][0]) >= {"train_loss", "test_acc", "lr", "wall_time"}


def test_dry_run_prints_grid_and_touches_nothing(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, out, _ = run_cli(capsys, "compare", "--dry-run", "--store", db)
    assert code == 0 and "25 runs" in out and "drop-before-bn" in out
    assert not db.exists()
    # the same plan from Python: every run's key, the device and the executor's plan
    import layerorder
    from layerorder.experiment.configuration.config import make_config
    from layerorder.experiment.execution.runner import run_specs

    grid = layerorder.compare_plan(orders="standard,preact", seeds=2, executor="sequential")
    assert grid.specs == tuple(run_specs(make_config({"orders": "standard,preact", "seeds": 2})))
    assert [s.label for s in grid.specs] == ["standard", "preact"] * 2
    assert grid.device == "cpu" and grid.execution.describe().startswith("sequential")
    assert all(s.run_key in out for s in layerorder.compare_plan().specs)  # as printed


def test_lr_sweep_records_divergence(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys,
        "compare",
        "--data-opt",
        "num_samples=500",
        "--epochs",
        "2",
        "--order",
        "standard,no-norm",
        "--seeds",
        "2",
        "--lr",
        "0.01,1000",
        "--optimizer",
        "sgd",
        "--executor",
        "sequential",
        "--store",
        db,
    )
    assert code == 0, err
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert {r.status for r in runs} <= {"done", "diverged"}
    big = [r for r in runs if r.lr == 1000 and r.label == "no-norm"]
    assert len(big) == 2 and all(r.status == "diverged" for r in big)
    assert all(r.diverged_epoch is not None for r in big)
    assert all(r.status == "done" for r in runs if r.lr == 0.01)
    assert "diverged" in err and "largest stable lr" in out


def test_failed_run_is_stored_and_sweep_goes_on(tmp_path, capsys, monkeypatch):
    from layerorder.experiment.execution import worker

    real = worker.train

    def flaky(model, data, cfg, **kw):
        if cfg.seed == 1:
            raise RuntimeError("boom")
        return real(model, data, cfg, **kw)

    monkeypatch.setattr(worker, "train", flaky)
    db = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys, "compare", *TINY, "--order", "standard", "--seeds", "3", "--store", db
    )
    assert code == 0
    with Store.open(db) as store:
        runs = store.runs(store.experiments()[0].id)
    assert [r.status for r in runs] == ["done", "failed", "done"]
    assert "RuntimeError: boom" in runs[1].error


def test_fresh_starts_a_new_experiment(tmp_path, capsys):
    db = tmp_path / "s.db"
    args = ["compare", *TINY, "--order", "standard", "--seeds", "1", "--store", db]
    run_cli(capsys, *args)
    code, _, err = run_cli(capsys, *args, "--fresh")
    assert code == 0 and "1 to train" in err
    with Store.open(db) as store:
        assert len(store.experiments()) == 2


def test_toml_config(tmp_path, capsys):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(
        'name = "toml-exp"\ndataset = "synthetic"\narch = "mlp"\nwidth = 8\n'
        'orders = ["standard"]\nseeds = 2\nepochs = 5\nexecutor = "sequential"\n'
    )
    db = tmp_path / "s.db"
    code, _, err = run_cli(capsys, "compare", "--config", cfg, "--epochs", "1", "--store", db)
    assert code == 0, err
    with Store.open(db) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
    assert exp.name == "toml-exp" and len(runs) == 2
    assert all(r.config["epochs"] == 1 for r in runs)


BAD = [
    (["--order", "conv-bnn-relu"], "did you mean 'bn'?"),
    (["--dataset", "mnsit1d"], "did you mean 'mnist1d'?"),
    (["--arch", "cnn3d"], "unknown architecture"),
    (["--seeds", "0"], "seeds must be >= 1"),
    (["--epochs", "0"], "epochs must be >= 1"),
    (["--lr", "-0.1"], "lr must be a number > 0"),
    (["--optimizer", "adamm"], "did you mean 'adam'"),
    (["--data-opt", "num_sample=10"], "did you mean 'num_samples'"),
    (["--data-opt", "nonsense"], "KEY=VALUE"),
    (["--epochs", "abc"], "epochs"),
    (["--config", "missing.toml"], "does not exist"),
    (["--arch", "resnet", "--order", "act-first"], "residual unit"),
    (
        ["--device", "cuda"] if not __import__("torch").cuda.is_available() else ["--device", "x"],
        "device",
    ),
]


@pytest.fixture
def existing_store(tmp_path, capsys):
    return tiny_store(capsys, tmp_path / "s.db")  # its WAL folded in: the main file holds all


@pytest.mark.parametrize("args,fragment", BAD)
def test_bad_input_is_one_line_exit_2_and_store_unchanged(
    existing_store, capsys, args, fragment, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    before = sha(existing_store)
    code, out, err = run_cli(capsys, "compare", "--store", existing_store, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    assert sha(existing_store) == before


def test_bad_toml_files(tmp_path, capsys, existing_store):
    before = sha(existing_store)
    malformed = tmp_path / "bad.toml"
    malformed.write_text("epochs = = 2\n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("epochs = 2\nlearning_rate = 0.1\n")
    for path, fragment in [(malformed, "not valid TOML"), (unknown, "unknown key 'learning_rate'")]:
        code, _, err = run_cli(capsys, "compare", "--config", path, "--store", existing_store)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert sha(existing_store) == before


def test_a_file_that_is_not_a_store(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    before = sha(notes)
    code, _, err = run_cli(capsys, "compare", *TINY, "--store", notes)
    assert code == 2 and "not a layerorder store" in err
    assert sha(notes) == before
    code, _, err = run_cli(capsys, "runs", "--store", tmp_path / "missing.db")
    assert code == 2 and "no store" in err


def test_amp_and_compile_flags_reach_the_runs(tmp_path, capsys):
    """--amp is part of each run's config (a new run key); --compile reaches the worker and is
    recorded in the provenance, not in the key."""
    db = tmp_path / "s.db"
    base = ["compare", *TINY, "--order", "standard", "--seeds", "1", "--store", db, "--no-report"]
    code, _, err = run_cli(capsys, *base)
    assert code == 0, err
    code, _, err = run_cli(capsys, *base, "--amp")
    assert code == 0, err
    assert "1 to train" in err  # a new run: amp changes the key
    with Store.open(db) as store:
        runs = [r for e in store.experiments() for r in store.runs(e.id)]
    assert sorted(r.config.get("amp", False) for r in runs) == [False, True]
    assert len({r.run_key for r in runs}) == 2
    assert all("compile" not in r.provenance for r in runs)
    code, _, err = run_cli(capsys, *base, "--compile", "--fresh")
    assert code == 0, err
    with Store.open(db) as store:
        latest = max(store.experiments(), key=lambda e: e.id)
        (run,) = store.runs(latest.id)
    assert run.status == "done" and run.provenance["compile"] is True
    assert "compile" not in run.config


def test_no_final_norm_reaches_the_runs_and_varies(tmp_path, capsys):
    """--no-final-norm builds the pre-activation stack without its final BN-ReLU (a new run key);
    --vary final_norm=true,false trains both; for a resnet it is noted and left out."""
    db = tmp_path / "s.db"
    base = ["compare", *TINY, "--order", "bn-relu-conv", "--seeds", "1", "--store", db,
            "--no-report"]
    code, _, err = run_cli(capsys, *base, "--no-final-norm")
    assert code == 0, err
    code, _, err = run_cli(capsys, *base, "--vary", "final_norm=true,false", "--name", "v")
    assert code == 0, err
    with Store.open(db) as store:
        runs = [r for e in store.experiments() for r in store.runs(e.id)]
    assert sorted(r.config.get("final_norm", True) for r in runs) == [False, False, True]
    assert len({r.run_key for r in runs}) == 2  # the off level has one key in both experiments
    code, _, err = run_cli(capsys, *base, "--vary", "final_norm=maybe")
    assert code == 2 and "final_norm must be true or false" in err


def test_an_architecture_without_orders_compares_its_own(capsys):
    code, out, err = run_cli(capsys, "compare", "--arch", "transformer", "--dry-run")
    assert code == 0, err
    for order in ("post-ln", "pre-ln", "sandwich-ln", "pre-rmsnorm", "no-norm"):
        assert order in out
    assert "25 runs" in out


def test_the_plan_a_user_sees_obeys_omp_num_threads(capsys, tmp_path, monkeypatch, no_thread_cap):
    """``OMP_NUM_THREADS=1 layerorder compare --executor sequential`` plans, says and trains one
    thread (``experiment/training/threads.py``); without it, every core the machine has."""
    from layerorder.experiment.execution import executors

    monkeypatch.setattr(executors, "available_cores", lambda: 2)
    base = ["compare", *TINY, "--order", "standard", "--seeds", "1", "--no-report"]
    code, _, err = run_cli(capsys, *base, "--store", tmp_path / "all.db")
    assert code == 0 and "sequential, 2 threads" in err, err
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    code, _, err = run_cli(capsys, *base, "--store", tmp_path / "one.db")
    assert code == 0 and "sequential, 1 thread" in err, err
    with Store.open(tmp_path / "one.db") as store:
        (exp,) = store.experiments()
        assert {r.provenance["threads"] for r in store.runs(exp.id)} == {1}
