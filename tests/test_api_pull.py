"""From Python: a grid stored for workers, a worker, a comparison that finds their runs, and a
store copied between backends."""

from __future__ import annotations

import layerorder

SETTINGS = {"dataset": "synthetic", "arch": "mlp", "width": 8, "epochs": 1, "batch_size": 64,
            "orders": ["standard", "preact"], "seeds": 2, "executor": "sequential"}


def test_store_grid_then_a_worker_then_compare(location, tmp_path):
    stored = layerorder.store_grid(store=location, **SETTINGS)
    assert (stored.runs, stored.added) == (4, 4)
    summary = layerorder.run_worker(location, experiment=str(stored.experiment.id))
    assert summary.trained == 4 and summary.stopped == "no runs left"
    results = layerorder.compare(store=location, progress=False, **SETTINGS)
    assert results.trained == 0 and len(results.runs) == 4
    copy = tmp_path / "copy.db"
    rows = layerorder.copy_store(location, copy).rows
    assert rows["runs"] == 4 and rows["epochs"] == 4
    again = layerorder.compare(store=copy, progress=False, **SETTINGS)
    assert [r.final_test_acc for r in again.runs] == [r.final_test_acc for r in results.runs]
