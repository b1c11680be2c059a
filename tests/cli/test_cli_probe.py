import json

import pytest

from layerorder.store import Store
from tests.helpers import TINY, run_cli


def test_probe_default_shows_both_orders_side_by_side(capsys, tmp_path):
    code, out, err = run_cli(capsys, "probe", "--epochs", "1")
    assert code == 0, err
    header = next(line for line in out.splitlines() if "standard" in line and "act-first" in line)
    assert header  # one table, the two orders as column groups
    assert "0.norm bn" in out and "0.act relu" in out and "after 1 epochs" in out
    assert "shift" in out and "|grad|/|w|" in out


def test_probe_json_is_the_same_records(capsys):
    code, out, _ = run_cli(
        capsys, "probe", "--epochs", "1", "--json", "--order", "standard", "--order", "conv-relu-bn"
    )
    assert code == 0
    data = json.loads(out)
    labels = [o["label"] for o in data["orders"]]
    assert labels == ["standard", "conv-relu-bn"]
    first = data["orders"][1]["init"]["stages"]
    kinds = [s["kind"] for s in first]
    assert kinds[:3] == ["Conv1d", "ReLU", "BatchNorm1d"]
    bn = first[2]
    assert bn["frac_positive"] < 0.45 and bn["skewness"] > 1  # BN after ReLU: skewed, sparse
    assert len(bn["hist"]) == len(data["bin_edges"]) - 1
    assert {"grads", "varshift"} <= set(data["orders"][0]["trained"])


def test_probe_plots_and_recalibration(capsys, tmp_path):
    plots = tmp_path / "plots"
    code, out, err = run_cli(
        capsys,
        "probe",
        *TINY[:6],
        "--epochs",
        "1",
        "--order",
        "drop-before-bn",
        "--plot",
        plots,
        "--recalibrate",
    )
    assert code == 0, err
    files = sorted(plots.glob("*__*.png"))
    assert len(files) == 9  # mlp: 2 blocks x 4 stages, plus the head
    assert (plots / "stage-chains.png").exists()  # and one block stage by stage
    assert all(f.stat().st_size > 1000 for f in files)
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "after BN recalibration" in out


def test_compare_probe_stores_probe_records(capsys, tmp_path):
    db = tmp_path / "s.db"
    code, _, err = run_cli(
        capsys, "compare", *TINY, "--order", "standard", "--seeds", "1", "--probe", "--store", db
    )
    assert code == 0, err
    with Store.open(db) as store:
        (run,) = store.runs(store.experiments()[0].id)
        probes = store.probes(run.id)
    epochs = {p.epoch for p in probes}
    kinds = {p.kind for p in probes}
    # init and the last epoch always; epoch 1 is not a multiple of --probe-every's default 5
    assert epochs == {0, 2} and kinds == {"stage", "grad", "varshift", "recal", "fit"}
    (recal,) = [p for p in probes if p.kind == "recal"]  # once, at the last epoch
    assert recal.epoch == 2 and recal.data["test_acc"] == pytest.approx(run.final_test_acc)


def test_probe_takes_a_users_model_with_keyword_arguments(capsys, tmp_path):
    src = tmp_path / "net.py"
    src.write_text(
        "from torch import nn\n"
        "def make(width=4, classes=3):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.BatchNorm1d(width),\n"
        "                         nn.ReLU(), nn.Linear(width, classes))\n"
    )
    code, out, err = run_cli(capsys, "probe", "--dataset", "synthetic", "--model",
                             f"{src}:make(width=16, classes=4)", "--order",
                             "as-is,linear-relu-bn", "--epochs", "1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [o["label"] for o in data["orders"]] == ["as-is", "linear-relu-bn"]
    assert {o["status"] for o in data["orders"]} == {"done"}
