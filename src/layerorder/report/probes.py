"""Probe records from the store, arranged for the report's probe figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from layerorder.probe.record import DEFAULT_RANGE


@dataclass(frozen=True)
class StageRow:
    name: str
    kind: str
    init_hist: tuple[int, ...]
    trained_hist: tuple[int, ...]
    init_positive: float
    trained_positive: float
    units: int
    init_dead: int
    trained_dead: int


@dataclass(frozen=True)
class OrderProbes:
    """One probed run per order (the lowest seed at the order's best learning rate)."""

    label: str
    run_id: int
    seed: int
    final_epoch: int
    stages: tuple[StageRow, ...]
    grads: tuple[tuple[str, float, float, str], ...]  # layer, ratio at init, trained, status
    varshift: tuple[tuple[str, float, bool], ...]  # BN layer, shift (trained), flagged


@dataclass(frozen=True)
class ProbeInfo:
    edges: tuple[float, ...]
    orders: tuple[OrderProbes, ...]


def _by_epoch_kind(records):
    table = defaultdict(list)
    for r in records:
        table[(r.epoch, r.kind)].append(r)
    for rows in table.values():
        rows.sort(key=lambda r: r.data.get("index", 0))
    return table


def _order_probes(run, records) -> OrderProbes | None:
    table = _by_epoch_kind(records)
    epochs = sorted({e for e, _ in table})
    if not epochs:
        return None
    first, last = epochs[0], epochs[-1]
    init = {r.name: r.data for r in table[(first, "stage")]}
    stages = []
    for r in table[(last, "stage")]:
        i, t = init.get(r.name, r.data), r.data
        stages.append(
            StageRow(
                r.name,
                t["kind"],
                tuple(i["hist"]),
                tuple(t["hist"]),
                i["frac_positive"],
                t["frac_positive"],
                t["units"],
                i["dead_units"],
                t["dead_units"],
            )
        )
    g0 = {r.name: r.data for r in table[(first, "grad")]}
    grads = tuple(
        (r.name, g0.get(r.name, r.data)["ratio"], r.data["ratio"], r.data["status"])
        for r in table[(last, "grad")]
    )
    shifts = tuple((r.name, r.data["shift"], r.data["flagged"]) for r in table[(last, "varshift")])
    return OrderProbes(run.label, run.id, run.seed, last, tuple(stages), grads, shifts)


def probe_info(store, runs, best_lr: dict[str, float]) -> ProbeInfo | None:
    chosen = {}
    for run in sorted(runs, key=lambda r: (r.seed, r.id)):
        if run.status == "done" and run.lr == best_lr.get(run.label) and run.label not in chosen:
            if run.config.get("probe"):
                chosen[run.label] = run
    orders = [o for o in (_order_probes(r, store.probes(r.id)) for r in chosen.values()) if o]
    if not orders:
        return None
    bins = len(orders[0].stages[0].init_hist) if orders[0].stages else 60
    lo, hi = DEFAULT_RANGE
    edges = tuple(lo + (hi - lo) * i / bins for i in range(bins + 1))
    return ProbeInfo(edges, tuple(orders))
