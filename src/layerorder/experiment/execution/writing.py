"""Writing a run's outcome to the store: what every driver and pull worker does last."""

from __future__ import annotations

from layerorder.experiment.execution.worker import RunOutcome
from layerorder.store import Store


def write_outcome(store: Store, outcome: RunOutcome, owner: str) -> bool:
    """Store the outcome if ``owner`` still holds the run; False when it does not (its lease
    ran out and another driver or worker took it over)."""
    current = store.run(outcome.run_id)
    if current is None or current.owner != owner or current.status != "running":
        return False
    return store.finish_run(
        outcome.run_id,
        status=outcome.status,
        epochs=outcome.epochs,
        owner=owner,
        diverged_epoch=outcome.diverged_epoch,
        error=outcome.error,
        wall_time=outcome.wall_time,
        provenance=outcome.provenance,
        probes=outcome.probes,  # in the same owner-checked transaction
        metrics=outcome.metrics,
    )
