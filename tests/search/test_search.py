"""The search on a task with a planted winner, and the final verdict read from fresh seeds only."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from layerorder.api import make_experiment
from layerorder.errors import ConfigError
from layerorder.search import (
    SELECTION_SEED,
    Candidate,
    OrderSpace,
    order_space,
    plan_search,
    run_search,
)
from layerorder.search.budget import MAX_FINAL_SEEDS
from layerorder.search.run import _cap_for_time
from layerorder.store import Store
from tests.helpers import run_cli


def xor_data(n=900, seed=0):
    """The label is the sign of x0*x1: no linear model beats chance, a ReLU network does."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("int64")
    cut = n * 5 // 6
    return x[:cut], y[:cut], x[cut:], y[cut:]


SETTINGS = {"arch": "mlp", "width": 32, "depth": 2, "optimizer": "adam", "lr": 0.01,
            "executor": "sequential", "batch_size": 50}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    # identity activations make the network linear: the two ReLU orders are the planted winners
    space = order_space("linear-relu", "mlp", acts=("relu", "identity"))
    assert set(space.specs) == {"linear-relu", "relu-linear", "linear-identity",
                                "identity-linear"}
    plan = plan_search(len(space.candidates), epochs=4, budget=16, eta=2, finalists=2,
                       selection_seeds=2)
    store = tmp_path_factory.mktemp("search") / "s.db"
    return run_search(SETTINGS, space, plan, store, data=xor_data()), store


def test_search_finds_the_planted_winner(planted):
    result, _ = planted
    (first,) = result.rounds
    assert set(first.dropped) == {"linear-identity", "identity-linear"}
    assert set(first.kept) == {"linear-relu", "relu-linear"}
    assert "points below" in first.evidence("linear-identity")
    assert result.best in ("linear-relu", "relu-linear")
    best_row = next(r for r in result.final.analysis.rows if r.label == result.best)
    assert best_row.summary.mean > 75  # the linear candidates sit near 50 %


def test_final_verdict_reads_only_fresh_seeds(planted):
    result, _ = planted
    selection = {s for r in result.rounds for s in r.plan.seeds}
    final_seeds = {r.seed for r in result.final.runs}
    assert selection and all(s >= SELECTION_SEED for s in selection)
    assert final_seeds.isdisjoint(selection)
    assert {r.experiment_id for r in result.final.runs} == {result.final.experiment.id}
    # the table's means are the final runs' own, selection runs excluded
    for row in result.final.analysis.rows:
        accs = [r.final_test_acc for r in result.final.runs if r.label == row.label]
        assert row.summary.mean == pytest.approx(sum(accs) / len(accs))
        assert row.summary.n == len(accs)


def test_search_resumes_and_the_cli_plans(planted, capsys, tmp_path):
    result, store = planted
    space = result.space
    again = run_search(SETTINGS, space, result.plan, store, data=xor_data())
    assert again.final.trained == 0 and again.best == result.best
    code, out, err = run_cli(capsys, "search", "--arch", "cnn2d", "--dataset", "mnist5k",
                             "--width", 8, "--dry-run")
    assert code == 0, err
    assert "15 candidate orders" in out and "9 spellings merged" in out
    assert "conv-bn-relu-drop  (= conv-bn-drop-relu, relu-conv-bn-drop)" in out
    code, _, err = run_cli(capsys, "search", "--budget", "2", "--dry-run")
    assert code == 2 and "give --budget" in err
    model = Path(__file__).parents[1] / "lint" / "lint_models.py"
    code, _, err = run_cli(capsys, "search", "--model", f"{model}:linear_bn_linear", "--dry-run")
    assert "--base linear-bn: the order of 1 of the model's 2 blocks" in err  # read from it
    assert code == 2 and "shapes cannot be multiplied" in err  # 6 inputs, mnist1d has 40


def test_the_history_is_in_the_store(planted, capsys, tmp_path):
    """Every candidate at every stage, with its outcome and evidence, stored as the search went;
    exported by the CLI; a rerun replaces it rather than adding to it."""
    result, store = planted
    with Store.open(store) as db:
        stored = db.search_steps("search")
    assert tuple(stored) == result.history
    space = [s for s in stored if s.kind == "space"]
    assert {s.spec for s in space if s.outcome == "candidate"} == set(result.space.specs)
    (first,) = result.rounds
    dropped = {s.spec: s for s in stored if s.stage == 1 and s.outcome == "dropped"}
    assert set(dropped) == set(first.dropped)
    assert all(s.experiment_id == first.experiment_id and s.evidence == first.evidence(s.spec)
               for s in dropped.values())
    final = [s for s in stored if s.kind == "final"]
    assert [s.stage for s in final] == [2, 2]
    assert {s.experiment_id for s in final} == {result.final.experiment.id}
    best = next(s for s in final if s.outcome == "best")
    assert best.spec == result.best and best.rank == 1
    other = next(s for s in final if s.outcome != "best")
    assert other.outcome in ("equivalent", "worse", "undecided") and "Holm p" in other.evidence
    rows = {r.label: r.summary for r in result.final.analysis.rows}
    assert all(s.mean_acc == pytest.approx(rows[s.spec].mean) and s.runs == rows[s.spec].n
               for s in final)
    out_file = tmp_path / "history.csv"
    code, _, err = run_cli(capsys, "export", "--store", store, "--what", "search", "-e", "search",
                           "-o", out_file)
    assert code == 0, err
    exported = list(csv.DictReader(out_file.open()))
    assert len(exported) == len(stored)
    assert {(r["stage"], r["spec"], r["outcome"]) for r in exported} == {
        (str(s.stage), s.spec, s.outcome) for s in stored}
    code, _, err = run_cli(capsys, "export", "--store", store, "--what", "search", "-e", "nope")
    assert code == 2 and "no search named 'nope'" in err and "searches here: search" in err
    # starting again with another space and plan replaces the history: no stale round or order
    kept = OrderSpace(result.space.base, "mlp", tuple(Candidate(s) for s in first.kept))
    short = plan_search(2, epochs=4, budget=16, eta=2, finalists=2, selection_seeds=2)
    run_search(SETTINGS, kept, short, store, data=xor_data())
    with Store.open(store) as db:
        replaced = db.search_steps("search")
    assert {(s.stage, s.kind) for s in replaced} == {(0, "space"), (1, "final")}
    assert not {s.spec for s in replaced} & set(first.dropped)
    run_search(SETTINGS, result.space, result.plan, store, data=xor_data())  # trains nothing
    with Store.open(store) as db:
        assert db.search_steps("search") == stored


def test_history_order_and_merges_as_stored(tmp_path):
    """A space with merged spellings: the history read back is the one recorded, each merged
    spelling after the candidate it stands for."""
    from layerorder.search.history import space_steps

    space = order_space("conv-bn-relu-drop", "cnn2d")
    steps = space_steps("s", space)
    with Store.open(tmp_path / "s.db") as db:
        db.record_search(steps, start=True)
        assert db.search_steps("s") == steps
    merged = [(i, s) for i, s in enumerate(steps) if s.outcome == "merged"]
    assert len(merged) == space.merged
    for i, step in merged:
        owner = next(s for s in reversed(steps[:i]) if s.outcome == "candidate")
        assert step.evidence == f"computes the same function as {owner.spec}"


def test_search_over_a_users_model(tmp_path, capsys):
    """--model: arrangements the model cannot take are listed as refused; the winner comes with
    the rewrite command that applies it."""
    (tmp_path / "net.py").write_text(
        "from torch import nn\n"
        "def block(n):\n"
        "    return [nn.Linear(n, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU()]\n"
        "def one():\n"
        "    return nn.Sequential(nn.Flatten(), *block(64), nn.Linear(16, 10))\n"
        "def two():\n"
        "    return nn.Sequential(nn.Flatten(), *block(64), *block(16), nn.Linear(16, 10))\n"
    )
    target = f"{tmp_path / 'net.py'}:one"  # one block: no pre-activation on the raw input
    code, out, err = run_cli(capsys, "search", "--model", target, "--base", "linear-bn-relu",
                             "--dataset", "digits", "--epochs", "1", "--dry-run")
    assert code == 0, err
    out = " ".join(out.split())
    # every pre-activation order is refused, bn-relu-linear too: bn→relu→linear runs across the
    # block and the head, but no block has that order
    assert "4 arrangements refused by the model" in out and "bn-relu-linear:" in out
    assert "pre-activation on the raw input" in out
    target = f"{tmp_path / 'net.py'}:two"
    code, out, err = run_cli(capsys, "search", "--model", target, "--dataset", "digits",
                             "--epochs", "1", "--budget", "12", "--finalists", "2",
                             "--selection-seeds", "1", "--executor", "sequential", "--store",
                             str(tmp_path / "s.db"), "--report-path",
                             str(tmp_path / "layerorder-search.html"))
    assert code == 0, err
    out = " ".join(out.split())
    assert "search picks" in out and f"layerorder rewrite '{target}' --to" in out
    page = (tmp_path / "layerorder-search.html").read_text()
    for part in ("Search: candidate orders", "Search: pruning history", "dropped: round 1",
                 "never the runs that selected them", "Verdict"):
        assert part in page, part


def test_settings_the_search_decides_cannot_leak_in(tmp_path):
    """until_decided, max_seeds or seeds from a TOML file or the caller do not reach the
    selection rounds: they train the selection seeds only, once."""
    space = order_space("linear-relu", "mlp", acts=("relu", "identity"))
    plan = plan_search(len(space.candidates), epochs=2, budget=12, eta=2, finalists=2,
                       selection_seeds=1)
    leaky = {**SETTINGS, "until_decided": True, "max_seeds": 6, "seeds": (0, 1, 2)}
    result = run_search(leaky, space, plan, tmp_path / "s.db", data=xor_data(n=300))
    (first,) = result.rounds
    assert all(s.runs == 1 for s in first.scores)  # one selection seed, no rounds of seeds
    with pytest.raises(ConfigError, match="one learning rate"):
        run_search({**SETTINGS, "lr": (0.01, 0.1)}, space, plan, tmp_path / "t.db",
                   data=xor_data(n=300))


def test_a_time_budget_caps_the_final_stage(tmp_path):
    space = order_space("linear-relu", "mlp", acts=("relu", "identity"))
    plan = plan_search(len(space.candidates), epochs=2, budget=None, eta=2, finalists=2,
                       selection_seeds=1)
    tight = run_search(SETTINGS, space, plan, tmp_path / "s.db", data=xor_data(n=300),
                       seconds=0.001)
    assert tight.plan.max_seeds == 3  # no time left: only the final stage's first look
    assert len(tight.final.runs) == 2 * 3
    # an hour for runs of a fraction of a second: the cap, not thousands of seeds
    rounds = [r for r in tight.rounds]
    runs = [r for rr in rounds for r in _round_runs(tmp_path / "s.db", rr.experiment)]
    final_config = make_experiment({**SETTINGS, "orders": tight.final.analysis.labels},
                                   data=xor_data(n=300), notes=lambda line: None)
    roomy = _cap_for_time(tight.plan, 3600, runs, final_config)
    assert roomy.max_seeds == MAX_FINAL_SEEDS


def _round_runs(store, name):
    from layerorder.store import Store

    with Store.open(store, create=False, read_only=True) as db:
        exp = db.find_experiment(name)
        return db.runs(exp.id)


def test_search_orders_from_python_is_the_command(tmp_path):
    """``layerorder.search_plan`` is the dry run and ``layerorder.search_orders`` the search, as
    the command does them: the plan is the space and plan built from their parts, and the
    search is ``run_search`` of that plan (run again on its store, it trains nothing)."""
    import layerorder
    from layerorder.results import Results
    from layerorder.search import experiment_space

    options = {"base": "linear-relu", "acts": "relu,identity", "budget": 6, "eta": 2,
               "finalists": 2, "selection_seeds": 1, "epochs": 2}
    setup = layerorder.search_plan(data=xor_data(), data_name="xor", **options, **SETTINGS)
    space = experiment_space(setup.config, base="linear-relu", acts=("relu", "identity"))
    assert setup.space == space and setup.plan == plan_search(
        len(space.candidates), epochs=2, budget=6, eta=2, finalists=2, selection_seeds=1)
    assert setup.name == "search-default" and setup.base_note is None
    store = tmp_path / "s.db"
    result = layerorder.search_orders(data=xor_data(), data_name="xor", store=store,
                                      progress=False, **options, **SETTINGS)
    assert result.final.title.startswith("xor / mlp")  # the data named as the caller named it
    assert isinstance(result.final, Results) and not result.final.to_pandas().empty
    assert result.to_dict()["best"] == result.best and result.name == setup.name
    rounds = result.to_pandas()  # the result's views (docs/python.md, "Results")
    assert len(rounds) == sum(len(r.scores) for r in result.rounds)
    assert list(rounds.columns) == ["round", "epochs", "rank", "order", "mean", "runs", "kept"]
    assert str(result) == result.summary() and f"search picks {result.best}" in str(result)
    assert "<table" in result._repr_html_() and "Verdict" in result._repr_html_()
    again = run_search(setup.settings, setup.space, setup.plan, store, name=setup.name,
                       data=xor_data(), data_name="xor")
    assert again.final.trained == 0 and again.best == result.best
    with pytest.raises(ConfigError, match="search decides seeds itself"):
        layerorder.search_plan(data=xor_data(), seeds=3, **SETTINGS)


SCORE_SCRIPT = '''
import random, zlib
import layerorder

t = layerorder.trial(order="conv-bn-relu", seed=0, epochs=4)
rng = random.Random(t.seed)
level = 0.5 if str(t.order) == "conv-bn-relu" else 1.0 + zlib.crc32(str(t.order).encode()) % 97 / 97
open("epochs.log", "a").write(f"{t.epochs}\\n")
for epoch in range(1, t.epochs + 1):
    t.report(epoch, loss=level + rng.gauss(0, 0.05) + 1.0 / epoch)
'''


def test_search_over_a_users_script_on_its_own_metric(capsys, tmp_path, monkeypatch):
    """``search --command``: every arrangement of --base goes to the script as {order}, the
    rounds give it fewer epochs (trial.epochs), and the lowest loss wins (--goal min)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "score.py").write_text(SCORE_SCRIPT)
    code, out, err = run_cli(capsys, "search", "--command", f"{sys.executable} score.py",
                             "--metric", "loss", "--goal", "min", "--base", "conv-bn-relu",
                             "--epochs", "4", "--budget", "12", "--store", tmp_path / "s.db",
                             "--executor", "sequential", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["best"] == "conv-bn-relu" and len(result["space"]["candidates"]) == 6
    (first,) = result["rounds"]
    means = [s["mean"] for s in first["scores"]]
    assert means == sorted(means) and first["scores"][0]["order"] == "conv-bn-relu"
    assert {int(e) for e in (tmp_path / "epochs.log").read_text().split()} == {1, 4}
    dropped = [s for s in result["history"] if s["outcome"] == "dropped"]
    assert dropped and all("loss" in s["evidence"] and "above" in s["evidence"] for s in dropped)
