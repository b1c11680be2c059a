"""Pull workers on a shared store: a killed worker's run is retried by another once its lease
runs out (and no other run is), and a PostgreSQL restart in the middle of a sweep loses
nothing. ``benchmarks/reliability_postgres.py`` runs the same at scale (8 workers, 200 runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from layerorder.store import Store
from tests.gate import gated_compare, gated_env, make_gate, open_gate, waiting
from tests.helpers import TINY


def _worker(store: str, host: str, *extra: str, env=None) -> subprocess.Popen:
    env = {**(env or os.environ), "LAYERORDER_HOST_ID": host}
    return subprocess.Popen([sys.executable, "-m", "layerorder", "worker", "--store", store,
                             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def test_a_killed_workers_run_is_retried_after_its_lease(tmp_path, location):
    gate = make_gate(tmp_path / "gate", tickets=0)
    subprocess.run(gated_compare(location, "--plan-only", seeds=2), check=True,
                   capture_output=True)
    first = _worker(location, "host-a", "--lease", "2", env=gated_env(gate))
    deadline = time.monotonic() + 120
    while waiting(gate) < 1 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    assert waiting(gate) == 1, first.communicate()
    with Store.open(location, create=False) as store:
        (held,) = store.runs(1, "running")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    open_gate(gate)
    # on another host: its pid cannot be checked from here, only its lease
    second = _worker(location, "host-b", "--lease", "2", env=gated_env(gate))
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "trained 2 runs; stopped: no runs left" in out
    with Store.open(location, create=False) as store:
        runs = store.runs(1)
        assert store.integrity_check() == "ok"
    assert [r.status for r in runs] == ["done", "done"]
    assert {r.id: r.attempts for r in runs} == {r.id: 2 if r.id == held.id else 1 for r in runs}
    assert all(r.owner.startswith("host-b:") for r in runs)


@pytest.mark.slow
def test_a_server_restart_mid_sweep_loses_nothing(tmp_path):
    pytest.importorskip("psycopg")
    from tests import pg_cluster

    with pg_cluster.running(pg_cluster, "PostgreSQL server") as cluster:
        url = cluster.url
        grid = [*TINY, "--epochs", "3", "--order", "standard", "--order", "preact",
                "--seeds", "8"]
        subprocess.run([sys.executable, "-m", "layerorder", "compare", *grid, "--store", url,
                        "--plan-only"], check=True, capture_output=True)
        workers = [_worker(url, f"host-{i}") for i in range(2)]
        with Store.open(url, create=False) as store:
            deadline = time.monotonic() + 120
            while store.counts(1)["done"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        cluster.restart()  # every connection is cut; workers reconnect
        outputs = [w.communicate(timeout=240) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        with Store.open(url, create=False) as store:
            runs = store.runs(1)
            assert store.integrity_check() == "ok"
        assert len(runs) == 16 and {r.status for r in runs} == {"done"}
        trained = sum(int(out.split("trained ")[1].split(" ")[0]) for out, _ in outputs)
        assert trained == 16  # each run stored once, by the worker that trained it
