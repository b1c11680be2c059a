"""The process pool's workers are forked from multiprocessing's fork server, which imported torch
and the training code once (``executors.pool_context``, ``fork_server.py``): what each worker is
forked from, the global setting put back as it was, and the driver's environment as each worker
starts (a forked worker would otherwise have the server's, from when the server started)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from layerorder.experiment.execution import executors
from tests.helpers import run_cli
from tests.reliability.processes import zombie

forked = pytest.mark.skipif(not executors._fork_server_fits(),
                            reason="workers are spawned here (CUDA, or not Linux)")

FRESH = r'''
import json, os
from multiprocessing import forkserver
import multiprocessing
from layerorder.experiment.execution import executors

multiprocessing.set_forkserver_preload(["json"])  # the user's own setting, before any pool
pool = executors.ProcessExecutor(workers=2)
pool.start()
workers = [w.process.pid for w in pool._pool]

def stat(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()

def has_torch(pid):
    return "libtorch" in open(f"/proc/{pid}/maps").read()

server = int(stat(workers[0])[1])
print(json.dumps({
    "parents": sorted({int(stat(pid)[1]) for pid in workers}),
    "server": server,
    "server_cmdline": open(f"/proc/{server}/cmdline", "rb").read().decode(errors="replace"),
    "server_parent": int(stat(server)[1]),
    "driver": os.getpid(),
    "server_has_torch": has_torch(server),
    "preload_after": forkserver._forkserver._preload_modules,
}))
pool.stop(now=True)
'''


@forked
def test_workers_are_forked_from_a_server_that_imported_torch_and_the_preload_is_put_back():
    out = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["parents"] == [seen["server"]]  # both workers forked by one server
    assert "multiprocessing.forkserver" in seen["server_cmdline"]
    assert "fork_server" in seen["server_cmdline"]  # started with layerorder's preload
    assert seen["server_parent"] == seen["driver"]
    assert seen["server_has_torch"]  # torch imported once, in the server, before any fork
    assert seen["preload_after"] == ["json"]  # the user's setting as it was


@forked
def test_the_server_is_started_once_and_again_only_once_it_died():
    from multiprocessing import forkserver

    executors.pool_context()
    pid = forkserver._forkserver._forkserver_pid
    executors.pool_context()
    assert forkserver._forkserver._forkserver_pid == pid  # the same server for the next pool
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not zombie(pid) and time.monotonic() < deadline:  # dead, for multiprocessing to reap
        time.sleep(0.01)
    assert executors.pool_context().get_start_method() == "forkserver"
    again = forkserver._forkserver._forkserver_pid
    assert again not in (None, pid)
    assert executors.pool_context().get_start_method() == "forkserver"  # counted as ours
    assert forkserver._forkserver._forkserver_pid == again


def test_a_worker_keeps_what_the_servers_imports_set_and_drops_what_the_driver_removed(
        monkeypatch):
    """``_take_environment`` in a worker forked from the server (its module stubbed)."""
    import types

    from layerorder.experiment.execution import pool_worker

    server = types.SimpleNamespace(INHERITED=frozenset({"LO_T_REMOVED", "LO_T_KEPT"}))
    monkeypatch.setitem(sys.modules, executors.FORK_SERVER_PRELOAD, server)
    for name, value in (("LO_T_REMOVED", "a"), ("LO_T_KEPT", "b"), ("LO_T_IMPORTS_SET", "c")):
        monkeypatch.setenv(name, value)
    pool_worker._take_environment({"LO_T_KEPT": "B", "LO_T_NEW": "d"})
    assert "LO_T_REMOVED" not in os.environ  # the driver removed it after the server started
    assert os.environ["LO_T_IMPORTS_SET"] == "c"  # set by the server's imports: kept
    assert os.environ["LO_T_KEPT"] == "B" and os.environ["LO_T_NEW"] == "d"
    monkeypatch.delenv("LO_T_NEW")


USERS_OWN = r'''
import json, multiprocessing, os
from multiprocessing import forkserver
from layerorder.experiment.execution import executors

multiprocessing.get_context("forkserver")
forkserver.ensure_running()  # the user's own fork server, started before any pool
pool = executors.ProcessExecutor(workers=1)
pool.start()
(worker,) = [w.process.pid for w in pool._pool]
parent = int(open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1].split()[1])
print(json.dumps({"parent": parent, "driver": os.getpid()}))
pool.stop(now=True)
'''


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_fork_server_the_user_started_is_not_used():
    """Its preload (the user's main module, by default) might touch CUDA or anything else:
    workers are spawned instead, children of the driver."""
    out = subprocess.run([sys.executable, "-c", USERS_OWN], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["parent"] == seen["driver"]


SCRIPT = '''
import os
import layerorder

t = layerorder.trial(order="a", seed=0)
removed = "LAYERORDER_CACHE_DIR" not in os.environ  # removed in the driver: gone here too
t.report(1, mark=float(os.environ["LAYERORDER_TEST_MARK"]) + (0 if removed else 100))
'''


@pytest.mark.parametrize("cuda", [False, True], ids=["fork-server", "spawned"])
def test_a_worker_has_the_drivers_environment_as_it_is_when_the_worker_starts(
        tmp_path, capsys, monkeypatch, cuda):
    """From the fork server, and spawned (as on a machine with CUDA, said here by a stub: the
    runs are a script's, which never asks torch for a GPU)."""
    monkeypatch.setattr(executors, "_fork_server_fits", lambda: not cuda)
    executors.pool_context()  # a fork server runs in this process before the variable is set
    monkeypatch.setenv("LAYERORDER_TEST_MARK", "7")
    monkeypatch.delenv("LAYERORDER_CACHE_DIR")  # removed since the server started
    assert executors.pool_context().get_start_method() == ("spawn" if cuda else "forkserver")
    script = tmp_path / "mark.py"
    script.write_text(SCRIPT)
    code, out, err = run_cli(capsys, "compare", "--command", f"{sys.executable} {script}",
                             "--order", "a,b", "--seeds", "1", "--metric", "mark",
                             "--executor", "process", "--workers", "2",
                             "--store", tmp_path / "s.db", "--no-report", "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [r["summary"]["mean"] for r in rows] == [7.0, 7.0]
