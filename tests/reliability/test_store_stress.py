"""A store of 20,000 runs, written through the store API as a sweep writes it (claimed, then
finished with its epochs; nothing trained): ``runs`` and ``export`` read every one of them.
How their times grow from 2,000 to 20,000 runs is measured by
``benchmarks/bench_store_scale.py`` (docs/reliability.md, "Stores of many runs")."""

from __future__ import annotations

import csv
import json

import pytest
from benchmarks.bench_store_scale import EPOCHS, build

from tests.helpers import run_cli

pytestmark = pytest.mark.slow

RUNS = 20_000


def test_a_store_of_20000_runs_is_read_whole(tmp_path, capsys):
    db = tmp_path / "s.db"
    build(db, RUNS)
    code, out, err = run_cli(capsys, "runs", "--store", db, "-e", "default", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == RUNS and {r["status"] for r in rows} == {"done"}
    assert len({r["run_id"] for r in rows}) == RUNS
    csv_path = tmp_path / "runs.csv"
    code, _, err = run_cli(capsys, "export", "--store", db, "-o", csv_path)
    assert code == 0, err
    with csv_path.open(newline="") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == RUNS * EPOCHS  # a row per run and epoch
