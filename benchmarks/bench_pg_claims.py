"""Claims on a PostgreSQL store of many pending runs, with the ``runs_claim`` index (migration 7)
and without it, in the same run: milliseconds per claim and their ratio.

    python benchmarks/bench_pg_claims.py [--runs 20000] [--claims 200]

Starts a throwaway cluster (``tests/pg_cluster.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerorder.store import RunSpec, Store  # noqa: E402
from tests import pg_cluster  # noqa: E402


def per_claim(url: str, runs: int, claims: int, index: bool) -> float:
    with Store.open(url) as store:
        if not index:
            store._conn.execute("DROP INDEX runs_claim")
        exp = store.experiment("big", {})
        store.add_runs(exp.id, [RunSpec(f"k{i}", "x", i, 0.1, {}) for i in range(runs)])
        start = time.perf_counter()
        for _ in range(claims):
            store.claim_next(exp.id, "host:1:st1")
        return (time.perf_counter() - start) / claims * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()
    cluster = pg_cluster.start()
    try:
        with_index = per_claim(cluster.schema_url(), args.runs, args.claims, True)
        without = per_claim(cluster.schema_url(), args.runs, args.claims, False)
    finally:
        cluster.close()
    print(f"{args.runs:,} pending runs, {args.claims} claims:"
          f" {with_index:.2f} ms per claim with the index, {without:.2f} ms without;"
          f" ratio {without / with_index:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
