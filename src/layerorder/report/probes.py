"""Probe records from the store, arranged for the report's probe figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from layerorder.probe.stored import typed


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
    hist_range: tuple[float, float]


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
    orders: tuple[OrderProbes, ...]  # each stage row carries its own histogram range


def _by_epoch_kind(records) -> dict[tuple[int, str], list]:
    """Typed records per (epoch, kind), in forward order."""
    table = defaultdict(list)
    for r in records:
        item = typed(r.kind, r.name, r.data)
        if item is not None:  # a kind written by a newer version is left out
            table[(r.epoch, r.kind)].append((r.data.get("index", 0), item))
    return {
        key: [item for _, item in sorted(rows, key=lambda t: t[0])] for key, rows in table.items()
    }


def order_probe_series(label: str, run_id: int, seed: int, snapshots: dict) -> OrderProbes:
    """An order's probes from its first and last snapshot ({epoch: {kind: [records]}})."""
    first, last = min(snapshots), max(snapshots)
    init = {s.name: s for s in snapshots[first].get("stage", [])}
    stages = tuple(
        StageRow(
            t.name,
            t.kind,
            tuple(init.get(t.name, t).hist),
            tuple(t.hist),
            init.get(t.name, t).frac_positive,
            t.frac_positive,
            t.units,
            init.get(t.name, t).dead_units,
            t.dead_units,
            t.hist_range,
        )
        for t in snapshots[last].get("stage", [])
    )
    g0 = {g.name: g for g in snapshots[first].get("grad", [])}
    grads = tuple(
        (g.name, g0.get(g.name, g).ratio, g.ratio, g.status)
        for g in snapshots[last].get("grad", [])
    )
    shifts = tuple((v.name, v.shift, v.flagged) for v in snapshots[last].get("varshift", []))
    return OrderProbes(label, run_id, seed, last, stages, grads, shifts)


def _order_probes(run, records) -> OrderProbes | None:
    table = _by_epoch_kind(records)
    if not table:
        return None
    snapshots: dict[int, dict[str, list]] = defaultdict(dict)
    for (epoch, kind), items in table.items():
        snapshots[epoch][kind] = items
    return order_probe_series(run.label, run.id, run.seed, snapshots)


def probe_info(store, runs, best_lr: dict[str, float]) -> ProbeInfo | None:
    chosen = {}
    for run in sorted(runs, key=lambda r: (r.seed, r.id)):
        if run.status == "done" and run.lr == best_lr.get(run.label) and run.label not in chosen:
            if run.config.get("probe"):
                chosen[run.label] = run
    orders = [o for o in (_order_probes(r, store.probes(r.id)) for r in chosen.values()) if o]
    if not orders:
        return None
    return ProbeInfo(tuple(orders))
