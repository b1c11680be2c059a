"""A target's code cannot end or hang layerorder: ``os._exit`` and endless loops while loading
are one-line errors (exit 2), and the process's own ``os._exit`` and SIGALRM are restored."""

from __future__ import annotations

import os
import signal
import time

import pytest

from layerorder.modelgraph import LintError, load_target
from tests.helpers import run_cli, run_subprocess


def _target(tmp_path, body: str) -> str:
    path = tmp_path / "target.py"
    path.write_text(
        f"import os\nfrom torch import nn\n{body}\ndef make():\n    return nn.Linear(2, 2)\n"
    )
    return f"{path}:make"


@pytest.mark.parametrize("where", ["import", "factory"])
def test_os_exit_in_a_target_is_an_error_not_a_silent_exit(tmp_path, where):
    body = "os._exit(0)" if where == "import" else ""
    spec = _target(tmp_path, body)
    if where == "factory":
        path = tmp_path / "target.py"
        text = path.read_text().replace("    return nn.", "    os._exit(0)\n    return nn.")
        path.write_text(text)
    result = run_subprocess("lint", spec)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "called os._exit(0) while loading" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_target_that_never_returns_times_out(tmp_path, capsys):
    endless = "while True:\n    try:\n        pass\n    except Exception:\n        pass"
    spec = _target(tmp_path, endless)
    start = time.monotonic()
    code, _, err = run_cli(capsys, "lint", spec, "--load-timeout", "1")
    assert code == 2 and time.monotonic() - start < 30
    assert "took longer than 1 s" in err and "--load-timeout" in err


def test_the_guard_restores_what_it_replaced(tmp_path):
    real_exit = os._exit
    handler = signal.getsignal(signal.SIGALRM)
    with pytest.raises(LintError, match="called os._exit"):
        load_target(_target(tmp_path, "os._exit(3)"))
    assert os._exit is real_exit and signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    (tmp_path / "ok").mkdir()
    assert load_target(_target(tmp_path / "ok", ""), timeout=5).model is not None
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_timer_set_by_the_caller_keeps_running(tmp_path):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 2.0)
        load_target(_target(tmp_path, ""), timeout=10)
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 2.0
        time.sleep(left + 0.3)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_target_that_swallows_the_first_interrupt_is_stopped_by_the_next(tmp_path, capsys):
    stubborn = (
        "try:\n    while True:\n        pass\nexcept BaseException:\n    pass\n"
        "while True:\n    pass"
    )
    code, _, err = run_cli(capsys, "lint", _target(tmp_path, stubborn), "--load-timeout", "1")
    assert code == 2 and "took longer than 1 s" in err


def test_a_child_forked_by_the_target_still_exits(tmp_path):
    forks = (
        "import multiprocessing as mp\n"
        "ctx = mp.get_context('fork')\n"
        "child = ctx.Process(target=int)\n"
        "child.start()\n"
        "child.join()\n"
        "assert child.exitcode == 0, child.exitcode\n"
    )
    assert load_target(_target(tmp_path, forks), timeout=30).model is not None
