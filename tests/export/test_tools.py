"""``export --format tensorboard`` read back with TensorBoard's own event reader, and
``export --format mlflow`` read back with MLflow's client from a local file store."""

import json
from pathlib import Path

import pytest

from layerorder.store import Store
from tests.helpers import run_cli, tiny_store


def _store(tmp_path, capsys):
    return tiny_store(capsys, tmp_path / "s.db", "--probe", orders="standard,act-first", seeds=2)


def _stored(db):
    with Store.open(db, create=False, read_only=True) as store:
        (exp,) = store.experiments()
        runs = store.runs(exp.id)
        epochs = store.epochs_for_experiment(exp.id)
        probes = {r.id: store.probes(r.id) for r in runs}
    return exp, runs, epochs, probes


def test_tensorboard_event_files_read_back(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    db = _store(tmp_path, capsys)
    exp, runs, epochs, probes = _stored(db)
    out = tmp_path / "tb"
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 0, err
    assert f"wrote {len(runs)} run folders" in err
    for run in runs:
        (folder,) = out.glob(f"*/*/seed{run.seed}-run{run.id}")
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        tags = acc.Tags()
        test_acc = acc.Scalars("epoch/test_acc")
        stored = epochs[run.id]
        assert [e.step for e in test_acc] == [e.epoch for e in stored]
        assert [e.value for e in test_acc] == pytest.approx([e.test_acc for e in stored])
        stage = next(p for p in probes[run.id] if p.kind == "stage" and p.epoch == 0)
        hist = acc.Histograms(f"stage/{stage.name}")
        first = next(h for h in hist if h.step == 0).histogram_value
        assert list(first.bucket) == stage.data["hist"]
        assert first.num == stage.data["count"]
        assert first.min == pytest.approx(stage.data["min"])
        grad = next(p for p in probes[run.id] if p.kind == "grad")
        scalars = acc.Scalars(f"probe/grad/{grad.name}/grad_norm")
        assert any(s.value == pytest.approx(grad.data["grad_norm"]) for s in scalars)
        assert "config/text_summary" in tags["tensors"]
    # exporting again writes nothing twice
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 0 and "wrote 0 run folders" in err
    assert all(len(list(f.glob("events.out.tfevents.*"))) == 1
               for f in out.glob("*/*/seed*-run*"))


def test_tensorboard_needs_a_folder(tmp_path, capsys):
    db = _store(tmp_path, capsys)
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard")
    assert code == 2 and "give -o DIR" in err


def test_mlflow_runs_read_back_with_the_client(tmp_path, capsys, monkeypatch):
    pytest.importorskip("mlflow", reason="mlflow is not installed")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    import os

    from mlflow import MlflowClient

    db = _store(tmp_path, capsys)
    exp, runs, epochs, probes = _stored(db)
    target = tmp_path / "mlruns"
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "mlflow", "-o", target)
    assert code == 0, err
    assert f"exported {len(runs)} runs" in err
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # set only while exporting
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=target.resolve().as_uri())
    experiment = client.get_experiment_by_name(exp.name)
    found = client.search_runs([experiment.experiment_id])
    parent = [r for r in found if r.data.tags.get("layerorder.parent") == "true"]
    children = [r for r in found if "layerorder.run_id" in r.data.tags]
    assert len(parent) == 1 and len(children) == len(runs)
    artifacts = [a.path for a in client.list_artifacts(parent[0].info.run_id, "report")]
    assert artifacts == ["report/layerorder-report.html"]
    for child in children:
        run = next(r for r in runs if str(r.id) == child.data.tags["layerorder.run_id"])
        assert child.data.tags["mlflow.parentRunId"] == parent[0].info.run_id
        assert child.data.params["order"] == run.label
        assert child.data.params["seed"] == str(run.seed)
        assert json.loads(child.data.params["config.epochs"]) == run.config["epochs"]
        history = client.get_metric_history(child.info.run_id, "test_acc")
        stored = epochs[run.id]
        history = sorted(history, key=lambda m: m.step)
        assert [m.step for m in history] == [e.epoch for e in stored]
        assert [m.value for m in history] == pytest.approx([e.test_acc for e in stored])
        assert child.info.status == "FINISHED"
        grad = next(p for p in probes[run.id] if p.kind == "grad" and p.epoch == 0)
        (at_init,) = [m for m in client.get_metric_history(
            child.info.run_id, f"probe/grad/{grad.name}/grad_norm") if m.step == 0]
        assert at_init.value == pytest.approx(grad.data["grad_norm"])
        saved = json.loads(Path(client.download_artifacts(
            child.info.run_id, "probes.json", str(tmp_path))).read_text())
        assert len(saved) == len(probes[run.id])
        stage = next(p for p in probes[run.id] if p.kind == "stage")
        assert any(r["name"] == stage.name and r["hist"] == stage.data["hist"] for r in saved)
    # exporting again adds nothing
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "mlflow", "-o", target)
    err = " ".join(err.split())  # the console wraps long lines
    assert code == 0 and "exported 0 runs" in err and f"{len(runs)} already there" in err
    assert len(client.search_runs([experiment.experiment_id])) == len(runs) + 1


def test_mlflow_refuses_a_file_or_the_store(tmp_path, capsys):
    pytest.importorskip("mlflow", reason="mlflow is not installed")
    db = _store(tmp_path, capsys)
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "mlflow", "-o", taken)
    assert code == 2 and "is a file" in err and taken.read_text() == "mine"
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "mlflow", "-o",
                           f"sqlite:///{db}")
    assert code == 2 and "the store itself" in err


def test_an_export_interrupted_inside_a_run_is_finished_by_the_next(tmp_path, capsys,
                                                                     monkeypatch):
    """An export stopped while a run's events are half-written (here: a KeyboardInterrupt where
    its settings are written, after its scalars) leaves no run folder that looks whole; the next
    export writes that run again, in full."""
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    db = _store(tmp_path, capsys)
    _, runs, epochs, _ = _stored(db)
    out = tmp_path / "tb"

    def stop(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SummaryWriter, "add_text", stop)
    code, _, _ = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 130
    whole = [e for e in out.rglob("events.out.tfevents.*") if e.parent.suffix != ".partial"]
    assert whole == []  # nothing looks whole
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 0 and f"wrote {len(runs)} run folders" in err, err
    assert not list(out.rglob("*.partial"))
    for run in runs:
        (folder,) = out.glob(f"*/*/seed{run.seed}-run{run.id}")
        acc = EventAccumulator(str(folder))
        acc.Reload()
        assert len(acc.Scalars("epoch/test_acc")) == len(epochs[run.id])
        assert "config/text_summary" in acc.Tags()["tensors"]


def test_a_run_folder_holding_someone_elses_files_is_left_alone(tmp_path, capsys):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed")
    db = _store(tmp_path, capsys)
    _, runs, _, _ = _stored(db)
    out = tmp_path / "tb"
    run = runs[0]
    folder = out / "default" / run.label / f"seed{run.seed}-run{run.id}"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "tensorboard", "-o", out)
    assert code == 2 and "holds files but no event files" in err, err
    assert (folder / "notes.txt").read_text() == "mine" and not list(out.rglob("*.partial"))
