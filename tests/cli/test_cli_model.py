"""``compare --model``: a user's own model, rewritten to each order and trained."""

from layerorder.store import Store
from tests.helpers import TINY, run_cli

MODEL = """
import torch.nn as nn


def make():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.1),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 8 * 8, 4),
    )


def wrong_classes():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
"""


def _args(tmp_path, *extra):
    path = tmp_path / "mymodels.py"
    path.write_text(MODEL)
    base = [a for a in TINY if a not in ("--arch", "mlp", "--width", "16")]
    return ["compare", *base, "--seeds", "2", "--store", tmp_path / "s.db", "--no-report", *extra]


def test_compare_rewrites_a_users_model(tmp_path, capsys):
    model = f"{tmp_path / 'mymodels.py'}:make"
    code, out, err = run_cli(
        capsys, *_args(tmp_path, "--model", model, "--order", "as-is", "--order", "conv-relu-bn")
    )
    assert code == 0, err
    assert "as-is" in out and "conv-relu-bn" in out and "Verdict" in out
    with Store.open(tmp_path / "s.db") as store:
        runs = store.runs(store.experiments()[0].id)
    assert len(runs) == 4 and {r.status for r in runs} == {"done"}
    assert {r.config["model"] for r in runs} == {model}


def test_compare_model_errors(tmp_path, capsys):
    base = tmp_path / "mymodels.py"
    cases = [
        ([f"{base}:make", "conv-gn-relu"], "does not apply"),
        ([f"{base}:wrong_classes", "as-is"], "4 classes"),
        ([f"{base}:nothing", "as-is"], "nothing"),
        (["no_such_module_xyz:make", "as-is"], "no_such_module_xyz"),
        (["not-a-target", "as-is"], "must look like"),
    ]
    for (model, order), fragment in cases:
        code, _, err = run_cli(capsys, *_args(tmp_path, "--model", model, "--order", order))
        assert code == 2, (model, err)
        assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / "s.db").exists()
