"""What a stage reaches on the role graph: the BatchNorms a dropout's variance shift arrives at, and
the activation/max-pool pairs that may swap. Read by lint's checks and by the rewrite's plans."""

from __future__ import annotations

from collections import deque

from layerorder.modelgraph.graph import RoleGraph, RoleNode

# roles a dropout's variance shift passes through on its way to a BatchNorm
SHIFT_PASSES = frozenset({"act", "pool", "add", "concat", "reshape", "dropout"})


def _passes_shift(node: RoleNode) -> bool:
    return node.role in SHIFT_PASSES or (node.role == "other" and node.linear)


def reached_bns(graph: RoleGraph, drop: RoleNode) -> list[RoleNode]:
    found, seen, queue = [], {drop.index}, deque([drop])
    while queue:
        for nxt in graph.succ_nodes(queue.popleft()):
            if nxt.index in seen:
                continue
            seen.add(nxt.index)
            if nxt.role == "norm" and nxt.kind == "bn":
                found.append(nxt)
            elif _passes_shift(nxt):
                queue.append(nxt)
    return found


def pool_first_pairs(graph: RoleGraph) -> list[tuple[RoleNode, RoleNode]]:
    """(activation, max-pool): a non-decreasing activation whose only reader is a max-pool that
    reads nothing else, so the pool can go first with the same output."""
    pairs = []
    for act in graph.of_role("act"):
        succ = graph.succ_nodes(act)
        if not act.monotone or act.fused or len(succ) != 1:
            continue
        pool = succ[0]
        if (
            pool.role == "pool"
            and pool.kind == "maxpool"
            and graph.preds[pool.index] == (act.index,)
        ):
            pairs.append((act, pool))
    return pairs
