"""``compare --command``: a script as the run, end to end from the command line: its table,
decisions and verdict on its own metric and direction, a rerun that trains nothing, bad input
refused before anything is stored, and a killed driver that leaves no process of a run behind."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.helpers import count_runs, run_cli
from tests.reliability.processes import alive

SCRIPT = '''
import os, random, sys, time
import layerorder

t = layerorder.trial(order="a", seed=0)
gate = os.environ.get("TEST_GATE")
if gate:  # a run without one of the gate's tickets waits until the test opens it
    for k in range(int(open(os.path.join(gate, "tickets")).read())):
        try:
            os.close(os.open(os.path.join(gate, f"ticket-{k}"), os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            continue
    else:
        open(os.path.join(gate, f"waiting-{os.getpid()}"), "w").close()
        while not os.path.exists(os.path.join(gate, "open")):
            time.sleep(0.05)
rng = random.Random(t.seed)
noise = rng.gauss(0, 30)  # the same for every order of a seed: paired
base = {"a": 150.0, "b": 120.0, "c": 150.0}[str(t.order)]
for epoch in (1, 2):
    t.report(epoch, score=base + noise + rng.gauss(0, 1) + 10 / epoch)
'''


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "score.py"
    path.write_text(SCRIPT)
    return path


def _compare(capsys, store, script, *extra):
    """The pool's workers would import torch to run a script that does not: sequential unless
    a test asks otherwise."""
    executor = [] if "--executor" in extra else ["--executor", "sequential"]
    return run_cli(capsys, "compare", "--command", f"{sys.executable} {script} --order {{order}}",
                   "--store", store, "--no-report", *executor, *extra)


def test_a_min_goal_comparison_says_lower_is_better_and_does_not_clip(capsys, tmp_path, script):
    store = tmp_path / "s.db"
    code, out, err = _compare(capsys, store, script, "--order", "a,b", "--seeds", "6",
                              "--metric", "score", "--goal", "min", "--executor", "sequential",
                              "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["verdict"]["best"] == "b"
    verdict = result["verdict"]["text"]
    assert "b is best" in verdict and "lower is better" in verdict
    assert "significantly better than a" in verdict
    high = max(r["summary"]["ci_high"] for r in result["rows"])
    assert high > 100  # intervals are not clipped to an accuracy's 0-100
    assert result["decisions"][0]["decision"] == "different"
    code, out, err = _compare(capsys, store, script, "--order", "a,b", "--seeds", "6",
                              "--metric", "score", "--goal", "min", "--json")
    assert code == 0 and json.loads(out)["trained_now"] == 0  # a rerun trains nothing


def test_the_terminal_shows_the_metric_its_direction_and_the_missing_margin(capsys, tmp_path,
                                                                           script):
    code, out, err = _compare(capsys, tmp_path / "s.db", script, "--order", "a,c",
                              "--seeds", "4", "--metric", "score", "--goal", "min",
                              "--metric-range", "0,160")
    assert code == 0, err
    text = " ".join(out.split())
    assert "mean score" in text and "score: lower is better" in text
    assert "clipped to the metric's range 0 to 160" in text
    assert "No equivalence margin was given" in text
    code, out, err = run_cli(capsys, "runs", "--store", tmp_path / "s.db", "-e", "default")
    assert code == 0 and "score" in out and "test acc" not in out, err  # the compared metric


def test_a_margin_in_the_metrics_units_decides_equivalence(capsys, tmp_path, script):
    code, out, err = _compare(capsys, tmp_path / "s.db", script, "--order", "a,c", "--seeds",
                              "6", "--metric", "score", "--goal", "max", "--margin", "5",
                              "--json")
    assert code == 0, err
    assert json.loads(out)["decisions"][0]["decision"] == "equivalent"


@pytest.mark.parametrize(("args", "fragment"), [
    ([], "needs --metric NAME"),
    (["--metric", "val_loss"], "reads like a loss or an error"),
    (["--metric", "score", "--executor", "stacked"], "--executor stacked"),
    (["--metric", "score", "--model", "m.py:f"], "--model is the built-in loop's"),
    (["--metric", "score", "--metric-range", "1"], "takes LO,HI"),
])
def test_bad_input_is_one_line_and_stores_nothing(capsys, tmp_path, script, args, fragment):
    store = tmp_path / "s.db"
    code, out, err = _compare(capsys, store, script, "--order", "a,b", *args)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not store.exists()


def test_an_unknown_placeholder_is_named(capsys, tmp_path):
    code, _, err = run_cli(capsys, "compare", "--command", "run --depth {depth}", "--metric", "m",
                           "--store", tmp_path / "s.db")
    assert code == 2 and "{depth}, which names nothing" in err


def test_the_built_in_loop_reports_its_own_metrics_only(capsys, tmp_path):
    code, _, err = run_cli(capsys, "compare", "--metric", "val_loss", "--goal", "min",
                           "--store", tmp_path / "s.db")
    assert code == 2 and "not one the built-in loop reports" in err


@pytest.mark.slow
def test_a_killed_driver_leaves_no_run_process_and_a_rerun_trains_the_rest(tmp_path, script):
    """Two pool workers each run a script that waits at a gate; the driver is SIGKILLed. 10 s
    later no process of those runs is alive, and the rerun trains only what is missing."""
    store, gate = tmp_path / "s.db", tmp_path / "gate"
    gate.mkdir()
    (gate / "tickets").write_text("2")  # two runs finish, the next two wait
    cmd = [sys.executable, "-m", "layerorder", "compare", "--command",
           f"{sys.executable} {script} --order {{order}}", "--order", "a,b", "--seeds", "3",
           "--metric", "score", "--executor", "process", "--workers", "2", "--store", str(store),
           "--no-report"]
    driver = subprocess.Popen(cmd, env={**os.environ, "TEST_GATE": str(gate)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(gate.glob("waiting-*"))) < 2 or count_runs(store, "done") < 2:
        assert time.time() < deadline and driver.poll() is None, "the runs did not start"
        time.sleep(0.05)
    waiting = [int(p.name.split("-")[1]) for p in gate.glob("waiting-*")]
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    deadline = time.time() + 10
    while alive(waiting) and time.time() < deadline:
        time.sleep(0.1)
    assert alive(waiting) == [], "a run's process outlived the killed driver by 10 s"
    (gate / "open").touch()
    # the rerun under the default executor: runs this short never pay for a pool's start
    rerun = subprocess.run([c if c != "process" else "auto" for c in cmd], capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "6 runs, 2 already stored, 4 to train" in " ".join(rerun.stderr.split())
    assert count_runs(store, "done") == 6


def test_a_train_function_in_a_file_is_the_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fit.py").write_text(
        "def train(trial):\n"
        "    for epoch in (1, 2):\n"
        "        trial.report(epoch, acc=0.5 + 0.1 * epoch + 0.01 * trial.seed)\n"
        "    return {'acc': 0.7 + (0.05 if str(trial.order) == 'b' else 0) + 0.01 * trial.seed}\n")
    code, out, err = run_cli(capsys, "compare", "--train", "fit.py:train", "--metric", "acc",
                             "--metric-range", "0,1", "--order", "a,b", "--seeds", "3",
                             "--executor", "process", "--workers", "2", "--json",
                             "--store", tmp_path / "s.db", "--no-report")
    assert code == 0, err
    result = json.loads(out)
    assert result["counts"] == {"done": 6} and result["verdict"]["best"] == "b"
    assert "train fit.py:train" in result["title"]


FAULTY = '''
import math, sys, time
import layerorder

t = layerorder.trial()
kind = ["fine", "exit", "nan", "silent", "garbage", "hang"][t.seed]
if kind == "exit":
    sys.stderr.write("Traceback: something broke\\n")
    sys.exit(3)
if kind == "hang":
    t.report(1, score=1.0)
    time.sleep(600)
if kind == "garbage":
    print("\\x00\\x01 not json {", flush=True)
    open(t._file, "a").write("not json {\\n")
t.report(1, score={"fine": 1.0, "nan": math.nan, "silent": None}.get(kind, 1.0),
         other=2.0)
'''


def test_every_way_a_script_can_end_is_stored_and_nothing_is_lost(capsys, tmp_path):
    script = tmp_path / "faulty.py"
    script.write_text(FAULTY)
    store = tmp_path / "s.db"
    args = ["compare", "--command", f"{sys.executable} {script}", "--order", "a", "--seeds", "6",
            "--metric", "score", "--run-timeout", "2", "--executor", "sequential",
            "--store", store, "--no-report", "--json"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    with Store.open(store, create=False) as db:
        runs = {r.seed: r for r in db.runs(db.latest_experiment().id)}
    assert [runs[s].status for s in range(6)] == ["done", "failed", "diverged", "failed",
                                                  "failed", "failed"]
    assert "exited with status 3" in runs[1].error and "something broke" in runs[1].error
    assert runs[2].diverged_epoch == 1
    assert "never reported 'score'; it reported: other" in runs[3].error
    assert "line 1 of the metrics file is not JSON" in runs[4].error
    assert "ran past --run-timeout 2 s" in runs[5].error
    assert runs[0].metrics == {"score": 1.0, "other": 2.0}
    code, out, err = run_cli(capsys, *args)  # a rerun trains nothing, and loses nothing
    assert code == 0 and json.loads(out)["trained_now"] == 0
    with Store.open(store, create=False) as db:
        again = {r.seed: r for r in db.runs(db.latest_experiment().id)}
    assert {s: (r.status, r.error, r.metrics) for s, r in again.items()} == {
        s: (r.status, r.error, r.metrics) for s, r in runs.items()}


@pytest.mark.parametrize(("executor", "sig"), [("process", signal.SIGTERM),
                                               ("sequential", signal.SIGINT)])
def test_a_stopped_driver_ends_its_runs_and_hands_them_back(tmp_path, script, executor, sig):
    store, gate = tmp_path / "s.db", tmp_path / "gate"
    gate.mkdir()
    (gate / "tickets").write_text("0")
    cmd = [sys.executable, "-m", "layerorder", "compare", "--command",
           f"{sys.executable} {script} --order {{order}}", "--order", "a,b", "--seeds", "2",
           "--metric", "score", "--executor", executor, "--store", str(store), "--no-report"]
    driver = subprocess.Popen(cmd, env={**os.environ, "TEST_GATE": str(gate)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              # a test run started in the background inherits SIGINT ignored;
                              # Ctrl-C in a terminal is not
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wanted = 2 if executor == "process" else 1
        deadline = time.time() + 120
        while len(list(gate.glob("waiting-*"))) < wanted:
            assert time.time() < deadline and driver.poll() is None, "the runs did not start"
            time.sleep(0.05)
        waiting = [int(p.name.split("-")[1]) for p in gate.glob("waiting-*")]
        driver.send_signal(sig)
        _, err = driver.communicate(timeout=60)
    finally:
        driver.kill()  # never left running for the tests after this one
    assert driver.returncode == 130 and "interrupted" in err, err  # SIGTERM ends it as Ctrl-C
    deadline = time.time() + 10
    while alive(waiting) and time.time() < deadline:
        time.sleep(0.1)
    assert alive(waiting) == [], "a run's process outlived the stopped driver"
    assert count_runs(store, "running") == 0 and count_runs(store, "pending") == 4, err


GAP = '''
import random
import layerorder

t = layerorder.trial()
rng = random.Random(t.seed)
common = rng.gauss(0, 3)
gap = float(t.params["gap"]) if str(t.order) == "b" else 0.0
t.report(1, score=50 + common + gap + rng.gauss(0, 0.3))
'''


def test_a_varied_param_and_seeds_until_decided(capsys, tmp_path):
    """--vary params.gap reaches the script as trial.params, the effect of the order depends on
    it (the interaction test says so), and --until-decided adds seeds in rounds."""
    script = tmp_path / "gap.py"
    script.write_text(GAP)
    code, out, err = run_cli(capsys, "compare", "--command", f"{sys.executable} {script} {{gap}}",
                             "--order", "a,b", "--seeds", "3", "--vary", "params.gap=0,4",
                             "--metric", "score", "--margin", "1", "--until-decided",
                             "--max-seeds", "12", "--executor", "sequential", "--json",
                             "--store", tmp_path / "s.db", "--no-report")
    assert code == 0, err
    result = json.loads(out)
    assert result["factors"] == ["params.gap"] and len(result["conditions"]) == 2
    decisions = {d["condition"]: d["decision"] for d in result["decisions"]}
    assert decisions == {"params.gap=0": "equivalent", "params.gap=4": "different"}
    assert result["interactions"][0]["p"] < 0.05
    assert "depends on params.gap" in result["verdict"]["text"]
    assert result["looks"] and result["looks"][0] == 3


def test_the_built_in_loop_has_no_params_to_vary(capsys, tmp_path):
    code, _, err = run_cli(capsys, "compare", "--vary", "params.gap=0,4",
                           "--store", tmp_path / "s.db")
    assert code == 2 and "varies a param of your own run" in err
