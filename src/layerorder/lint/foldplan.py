"""Fold feasibility for every BatchNorm: into the weight layer before it, after it, or neither.

In eval mode BN is y = s*x + t per channel. Into the previous layer W: W' = s*W (per output
channel), b' = s*b + t; exact when W's output goes only to this BN. Into the next layer W:
W' = W*s (per input channel), b' = b + W t; exact only when W does not pad with zeros (the padded
zeros would skip the shift t). Dropout between the two is an identity at inference and is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerorder.modelgraph.graph import RoleGraph, RoleNode


@dataclass(frozen=True)
class FoldPlan:
    norm: str  # label of the BatchNorm
    into: str | None  # 'previous', 'next' or None
    weight: str | None  # label of the weight layer it folds into
    reason: str  # why it folds there, or why it folds nowhere
    after: str = ""  # why it does not fold into the layer after it ("" when it does or untested)
    norm_index: int = -1
    weight_index: int = -1

    @property
    def foldable(self) -> bool:
        return self.into is not None


def _skip_dropout(graph: RoleGraph, node: RoleNode, forward: bool) -> tuple[RoleNode | None, str]:
    """The single neighbour past any dropout, or None with the reason the chain branches."""
    current = node
    while True:
        nbrs = graph.succ_nodes(current) if forward else graph.pred_nodes(current)
        if len(nbrs) != 1:
            side = "read by" if forward else "fed by"
            return None, f"{current.named} is {side} {len(nbrs)} places"
        nxt = nbrs[0]
        back = graph.pred_nodes(nxt) if forward else graph.succ_nodes(nxt)
        if len(back) != 1:
            what = "also reads other inputs" if forward else "output is also used elsewhere"
            return None, f"{nxt.named} {what}"
        if nxt.role != "dropout":
            return nxt, ""
        current = nxt


def _weight_problem(weight: RoleNode) -> str:
    if weight.source != "module":
        return f"{weight.label} is a functional call; folding works on modules"
    if not weight.plain:
        return f"{weight.label} is a {weight.type_name}, not a plain Conv1d/2d/3d or Linear"
    if weight.calls > 1:
        return f"{weight.named} is called {weight.calls} times"
    return ""


def _norm_problem(bn: RoleNode) -> str:
    if bn.source != "module":
        return "a functional batch_norm call; folding works on modules"
    if not bn.running_stats:
        return "it has no running statistics (track_running_stats=False)"
    if bn.calls > 1:
        return f"the module is called {bn.calls} times"
    return ""


def _side(graph: RoleGraph, bn: RoleNode, forward: bool) -> tuple[RoleNode | None, str]:
    weight, why = _skip_dropout(graph, bn, forward)
    if weight is None:
        return None, why
    if weight.role in ("input", "output"):
        return None, f"it {'feeds the model output' if forward else 'reads the model input'}"
    if weight.role != "weight":
        where = "after" if forward else "before"
        return None, f"{where} it comes {weight.token} ({weight.label}), not a weight layer"
    problem = _weight_problem(weight)
    channels = weight.in_channels if forward else weight.out_channels
    if not problem and channels is not None and channels != bn.in_channels:
        problem = f"{weight.named} has {channels} channels there, the BatchNorm {bn.in_channels}"
    if not problem and forward and weight.zero_padding:
        problem = f"{weight.named} pads with zeros, so folding into it would not be exact"
    return (None, problem) if problem else (weight, "")


def plan_fold(graph: RoleGraph, bn: RoleNode) -> FoldPlan:
    problem = _norm_problem(bn)
    if problem:
        return FoldPlan(bn.label, None, None, problem, problem, bn.index)
    prev, why_prev = _side(graph, bn, forward=False)
    if prev is not None:
        reason = f"folds into {prev.named} before it"
        return FoldPlan(bn.label, "previous", prev.label, reason, "", bn.index, prev.index)
    nxt, why_next = _side(graph, bn, forward=True)
    if nxt is not None:
        reason = f"folds into {nxt.named} after it (it does not pad with zeros, so exactly);"
        reason += f" not into the layer before: {why_prev}"
        return FoldPlan(bn.label, "next", nxt.label, reason, "", bn.index, nxt.index)
    reason = f"not into the layer before ({why_prev}), nor after ({why_next})"
    return FoldPlan(bn.label, None, None, reason, why_next, bn.index)


def fold_plans(graph: RoleGraph) -> tuple[FoldPlan, ...]:
    """One plan per BatchNorm node, in graph order."""
    return tuple(plan_fold(graph, n) for n in graph.nodes if n.role == "norm" and n.kind == "bn")
