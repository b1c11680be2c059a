"""A user's own run, judged: a training function and a command each end done, diverged or failed
as ``user_runs`` says, whatever the code does (exit non-zero, hang, print garbage, report NaN,
never report the metric)."""

import math
import sys
import time

import numpy as np
import pytest
import torch

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.training.user_runs import (
    command_argv,
    placeholders,
    run_command,
    run_function,
)
from tests.reliability.processes import alive

PY = sys.executable


def _run(command=None, train=None, **settings):
    cfg = make_config({"orders": ["standard"], "seeds": 1, "command": command, "train": train,
                       "metric": "m", **settings})
    return cfg.runs()[0]


def _script(tmp_path, body: str) -> str:
    path = tmp_path / "run.py"
    path.write_text("import layerorder, sys, time\nt = layerorder.trial()\n" + body)
    return f"{PY} {path}"


def test_a_command_that_reports_is_done_with_its_epochs_and_final_metrics(tmp_path):
    cmd = _script(tmp_path, "for e in (1, 2):\n    t.report(e, m=e / 10, other=1.0)\n"
                            "t.final(m=0.5)\nprint('anything', file=sys.stdout)\n")
    seen = []
    result = run_command(_run(cmd), "cpu", "m", on_epoch=lambda e, v: seen.append((e, v)))
    assert result.status == "done", result.error
    assert result.metrics == {"m": 0.5, "other": 1.0}
    assert [e.metrics for e in result.epochs] == [{"m": 0.1, "other": 1.0},
                                                  {"m": 0.2, "other": 1.0}]
    assert seen == [(1, 0.1), (2, 0.2)]


def test_a_script_in_any_language_writes_json_lines(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text('echo "{\\"epoch\\": 1, \\"m\\": 0.25}" >> "$LAYERORDER_METRICS"\n'
                      'echo "order=$LAYERORDER_ORDER seed=$LAYERORDER_SEED" >&2\n')
    result = run_command(_run(f"sh {script}"), "cpu", "m")
    assert result.status == "done" and result.metrics == {"m": 0.25}, result.error


def test_placeholders_fill_the_order_seed_lr_and_params(tmp_path):
    run = _run("x", params={"width": "32"}, lr=0.1)
    argv = command_argv("train --order {order} --s={seed} --lr {lr} -w {width} {params.width}",
                        placeholders(run))
    assert argv == ["train", "--order", "standard", "--s=0", "--lr", "0.1", "-w", "32", "32"]
    assert command_argv("echo {{literal}} {order}", placeholders(run)) == [
        "echo", "{literal}", "standard"]
    with pytest.raises(ConfigError, match=r"\{depth\}, which names nothing"):
        command_argv("train --depth {depth}", placeholders(run))


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ("sys.stderr.write('boom\\n'); sys.exit(3)", "failed", "exited with status 3"),
    ("t.report(1, m=float('nan'))", "diverged", None),
    ("t.report(1, acc=0.5, loss=1.0)", "failed", "never reported 'm'; it reported: acc, loss"),
    ("open(t._file, 'a').write('garbage\\n')", "failed", "line 1 of the metrics file is not JSON"),
    ("print('\\x00\\xff garbage', flush=True); sys.stderr.write('noise'); t.report(1, m=1.0)",
     "done", None),
])
def test_each_way_a_command_ends_has_its_outcome(tmp_path, body, status, fragment):
    result = run_command(_run(_script(tmp_path, body)), "cpu", "m")
    assert result.status == status, result.error
    if fragment:
        assert fragment in result.error
    if status == "failed" and "status 3" in (fragment or ""):
        assert "boom" in result.error  # the end of its stderr is kept
    if status == "diverged":
        assert result.diverged_epoch == 1 and math.isnan(result.metrics["m"])


def test_a_hang_past_the_timeout_is_killed_with_its_group(tmp_path):
    pidfile = tmp_path / "pids"
    cmd = _script(tmp_path, "import os, subprocess\n"
                  "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                  f"open({str(pidfile)!r}, 'w').write(f'{{os.getpid()}} {{p.pid}}')\n"
                  "t.report(1, m=0.5)\ntime.sleep(120)\n")
    start = time.time()
    result = run_command(_run(cmd), "cpu", "m", timeout=2.0)
    assert result.status == "failed" and "ran past --run-timeout 2 s" in result.error
    assert time.time() - start < 30
    assert result.epochs and result.epochs[0].metrics == {"m": 0.5}  # what it reported is kept
    assert alive(int(p) for p in pidfile.read_text().split()) == []


def test_a_train_function_returns_its_metrics(tmp_path):
    def train(trial):
        trial.report(1, m=0.3)
        return 0.4 if trial.seed == 0 else {"m": 0.1}

    from layerorder.experiment.configuration.callables import register_train

    target = register_train(train)
    result = run_function(_run(train=target), "cpu", "m")
    assert result.status == "done" and result.metrics == {"m": 0.4}


@pytest.mark.parametrize("returned", [
    np.float32(0.25), torch.tensor(0.25), torch.tensor([0.25]), {"m": np.float32(0.25)},
    {"m": torch.tensor(0.25, requires_grad=True)}, {"m": 0.25, "val/acc": np.float32(0.5)},
    {"m": 0.25, "not_measured": None},  # None: a metric not measured, as trial.report takes it
    {"m": 0.25, "epoch": 3},  # a history's last row: its epoch is no metric, and left out
])
def test_a_train_function_may_return_numpy_numbers_and_one_element_tensors(returned):
    """What a loop hands back as it computed it (``acc.mean()`` in float32, a loss tensor) is
    read as ``.item()`` would read it."""
    from layerorder.experiment.configuration.callables import register_train

    result = run_function(_run(train=register_train(lambda trial: returned)), "cpu", "m")
    assert result.status == "done", result.error
    assert result.metrics["m"] == 0.25 and all(type(v) is float for v in result.metrics.values())
    assert "epoch" not in result.metrics


@pytest.mark.parametrize(("returned", "status", "fragment"), [
    (ValueError("bad data"), "failed", "ValueError: bad data"),
    (torch.tensor([0.25, 0.5]), "failed", "must return its metrics"),
    ({"m": torch.tensor([0.25, 0.5])}, "failed", "non-numbers for ['m']"),
    ({"m": True}, "failed", "non-numbers for ['m']"),
    ({"m": np.bool_(True)}, "failed", "non-numbers for ['m']"),
    (torch.tensor(True), "failed", "must return its metrics"),
    ("high", "failed", "must return its metrics"),
    ({"m": "x"}, "failed", "non-numbers for ['m']"),
    ({"other": 1.0}, "failed", "never reported 'm'"),
    (float("inf"), "diverged", None),
    (None, "failed", "never reported 'm'; it reported: no metric at all"),
])
def test_what_a_train_function_does_decides_its_outcome(returned, status, fragment):
    from layerorder.experiment.configuration.callables import register_train

    def train(trial):
        if isinstance(returned, Exception):
            raise returned
        return returned

    result = run_function(_run(train=register_train(train)), "cpu", "m")
    assert result.status == status
    if fragment:
        assert fragment in result.error


def _draws(trial):
    """What a function that never seeds draws from the global generators."""
    import random

    return {"py": random.random(), "np": float(np.random.rand()), "torch": float(torch.rand(1))}


def test_a_train_function_starts_from_its_own_seed_not_from_the_same_state_each_run():
    """Python's, numpy's and torch's global generators are seeded from the run's seed before the
    function runs, as ``trial.seed_everything()`` seeds them: a function that never seeds draws
    what those seeds give (the reference), the same for two orders of one seed, another for
    another seed. Before, every run drew the same numbers."""
    import random

    from layerorder.experiment.configuration.callables import register_train

    target = register_train(_draws)
    # (torch's generator is the executor's run scope's to put back; here, this test's)
    with torch.random.fork_rng(devices=[]):
        got = {(order, seed): run_function(_run(train=target, orders=[order], seeds=[seed]),
                                           "cpu", "np").metrics
               for order in ("standard", "preact") for seed in (0, 1, 2)}
        for (order, seed), metrics in got.items():
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            assert metrics == {"py": random.random(), "np": float(np.random.rand()),
                               "torch": float(torch.rand(1))}, (order, seed)
    assert len({tuple(m.values()) for m in got.values()}) == 3


def test_a_train_function_leaves_the_callers_random_state(tmp_path):
    import random

    import numpy as np

    from layerorder.experiment.configuration.callables import register_train

    def train(trial):
        trial.seed_everything()
        return 1.0

    random.seed(5)
    np.random.seed(5)
    before = (random.random(), np.random.rand())
    random.seed(5)
    np.random.seed(5)
    run_function(_run(train=register_train(train)), "cpu", "m")
    assert (random.random(), np.random.rand()) == before
