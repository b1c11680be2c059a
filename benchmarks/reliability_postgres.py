"""Pull workers on a PostgreSQL store, at scale: 8 worker processes (distinct host ids) drain a
200-run grid, four times, each with its own fault:

- ``plain``: no fault: every run is stored exactly once;
- ``kills``: three workers SIGKILLed at random moments: only the runs they held are retried;
- ``restart``: the server stopped mid-sweep, for longer than the lease, then started again:
  the workers reconnect;
- ``network``: every connection through a TCP proxy cut, and new ones refused, for longer than
  the lease: the workers reconnect, runs whose lease ran out are taken over, and each run's
  result is still stored once.

Each scenario checks: every run done, none pending or running; the results the workers stored
add up to the runs (no run stored twice); the store's integrity check. It prints a Markdown
table and writes ``benchmarks/results/reliability_postgres.json``.

    python benchmarks/reliability_postgres.py            # about 4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerorder.store import Store  # noqa: E402
from tests import pg_cluster  # noqa: E402

WORKERS = 8
GRID = ["--dataset", "synthetic", "--arch", "mlp", "--width", "16", "--epochs", "2",
        "--batch-size", "64", "--seeds", "40"]  # the five default orders x 40 seeds = 200 runs
LEASE = 4.0


class Proxy:
    """A TCP proxy in front of the server; ``cut(seconds)`` closes every connection through it
    and refuses new ones for that long, as a network outage would (with resets, not silence)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = _free_port()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.down_until = 0.0
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if time.monotonic() < self.down_until:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        raise OSError
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):  # closed, here or by ``cut``
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_port(url: str, port: int) -> str:
    return re.sub(r":\d+/", f":{port}/", url, count=1)


def _start_workers(url: str, n: int) -> list[subprocess.Popen]:
    workers = []
    for i in range(n):
        env = {**os.environ, "LAYERORDER_HOST_ID": f"host-{i}", "OMP_NUM_THREADS": "1"}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "layerorder", "worker", "--store", url, "--lease", str(LEASE),
             "--device", "cpu"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True))
    return workers


def _done(url: str) -> int:
    with Store.open(url, create=False) as store:
        return store.counts(1)["done"]


def _wait_done(url: str, n: int, workers: list[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while _done(url) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} runs done after {timeout:g} s")
        if all(w.poll() is not None for w in workers):
            errors = [w.communicate()[1][-800:] for w in workers]
            raise RuntimeError(f"every worker ended with fewer than {n} runs done: {errors}")
        time.sleep(0.1)


def scenario(name: str, cluster: pg_cluster.Cluster, rng: random.Random) -> dict:
    schema_url = cluster.schema_url(f"reliability_{name}")
    proxy = Proxy(cluster.port) if name == "network" else None
    url = _with_port(schema_url, proxy.port) if proxy else schema_url
    subprocess.run([sys.executable, "-m", "layerorder", "compare", *GRID, "--store", schema_url,
                    "--plan-only"], check=True, capture_output=True)
    start = time.monotonic()
    workers = _start_workers(url, WORKERS)
    event: dict = {}
    if name == "kills":
        held_at_kill: set[int] = set()
        killed = []
        for at in (40, 80, 120):
            _wait_done(schema_url, at, workers)
            live = [w for w in workers if w.poll() is None and w not in killed]
            with Store.open(schema_url, create=False) as store:
                holders = {r.owner.split(":")[1] for r in store.runs(1, "running")}
            # a worker holding a run, when one does (one still starting holds nothing)
            victim = rng.choice([w for w in live if str(w.pid) in holders] or live)
            with Store.open(schema_url, create=False) as store:
                held = [r.id for r in store.runs(1, "running")
                        if r.owner.split(":")[1] == str(victim.pid)]
            os.killpg(victim.pid, 9)
            victim.wait()
            with Store.open(schema_url, create=False) as store:  # what it held when it died
                held = [r.id for r in store.runs(1, "running")
                        if r.owner.split(":")[1] == str(victim.pid)] or held
            held_at_kill |= set(held)
            killed.append(victim)
        event = {"killed": len(killed), "runs_held_by_the_killed": sorted(held_at_kill)}
    elif name == "restart":
        _wait_done(schema_url, 70, workers)
        t0 = time.monotonic()
        cluster.stop()  # fast shutdown: every connection is cut
        time.sleep(2 * LEASE)  # down for longer than a lease
        cluster.start()
        event = {"server_down_s": round(time.monotonic() - t0, 2), "lease_s": LEASE,
                 "at_done": 70}
    elif name == "network":
        _wait_done(schema_url, 100, workers)
        cut = 3 * LEASE
        proxy.cut(cut)
        event = {"cut_s": cut, "lease_s": LEASE, "at_done": 100}
    outputs = [w.communicate(timeout=600) for w in workers]
    wall = time.monotonic() - start
    codes = [w.returncode for w in workers]
    trained = sum(int(m.group(1)) for out, _ in outputs
                  for m in [re.search(r"trained (\d+) run", out)] if m)
    retries_said = sum(err.count("trying again") for _, err in outputs)
    discarded = sum(err.count("was taken over after its lease expired") for _, err in outputs)
    with Store.open(schema_url, create=False) as store:
        runs = store.runs(1)
        integrity = store.integrity_check()
    counts = {s: sum(r.status == s for r in runs) for s in ("done", "pending", "running")}
    # a killed worker prints nothing: what it stored before it died is read from the store
    gone = {str(w.pid) for w in workers if w.returncode != 0}
    trained += sum(1 for r in runs if r.owner and r.owner.split(":")[1] in gone)
    retried = sorted(r.id for r in runs if r.attempts > 1)
    result = {
        "scenario": name, "runs": len(runs), **counts, "stored_by_workers": trained,
        "retried_runs": retried, "worker_exit_codes": codes, "wall_s": round(wall, 1),
        "integrity": integrity, "store_retries_noted": retries_said,
        "results_discarded": discarded, **event,
        "failed_worker_errors": [err[-800:] for (_, err), c in zip(outputs, codes)
                                 if c not in (0, -9)],
    }
    checks = [counts["done"] == len(runs) == 200, trained == len(runs), integrity == "ok"]
    if name == "kills":
        checks.append(set(retried) == set(event["runs_held_by_the_killed"]))
        checks.append(sorted(c for c in codes if c != 0) == [-9] * 3)
    else:
        checks.append(codes == [0] * WORKERS)
    if name == "plain":
        checks.append(retried == [])
    result["passed"] = all(checks)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=["plain", "kills", "restart", "network"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cluster = pg_cluster.start()
    results = []
    try:
        for name in args.only:
            result = scenario(name, cluster, rng)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        cluster.close()
    print("\n| scenario | runs done | stored by workers | retried runs | worker exits | wall s |"
          " passed |\n|---|---|---|---|---|---|---|")
    for r in results:
        exits = ", ".join(f"{c}" for c in sorted(set(r["worker_exit_codes"])))
        print(f"| {r['scenario']} | {r['done']}/{r['runs']} | {r['stored_by_workers']} |"
              f" {len(r['retried_runs'])} | {exits} | {r['wall_s']} | {r['passed']} |")
    out = ROOT / "benchmarks" / "results" / "reliability_postgres.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"command": "python benchmarks/reliability_postgres.py",
                               "seed": args.seed, "results": results}, indent=1))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
