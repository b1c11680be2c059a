"""Where a rewrite can move stages (adjacent pairs, dropout moves, blocks), found on the role graph.

Plans name role nodes; ``layerorder.modelgraph.rewrite`` carries them out on the fx graph. A
place that cannot be rewritten becomes a ``RewriteSkip`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.fx as fx

from layerorder.modelgraph.census import ARROW
from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.modelgraph.reach import reached_bns
from layerorder.order import Order

MOVABLE_ROLES = ("norm", "act", "dropout")


@dataclass(frozen=True)
class RewriteChange:
    place: str  # module path of the block's weight layer, or of the first moved stage
    before: str  # e.g. 'conv→bn→relu'
    after: str  # e.g. 'conv→relu→bn'


@dataclass(frozen=True)
class RewriteSkip:
    place: str
    reason: str


@dataclass(frozen=True)
class BlockPlan:
    weight: RoleNode
    pre: tuple[RoleNode, ...]  # desired stages before the weight layer, in order
    post: tuple[RoleNode, ...]
    change: RewriteChange


def fx_problem(node: RoleNode, fx_nodes: dict[str, fx.Node]) -> str:
    """Why ``node`` cannot be moved on the fx graph ('' when it can)."""
    if node.role not in MOVABLE_ROLES:
        return f"{node.named} is a {node.role} stage, not a norm, activation or dropout"
    if node.fused:
        return f"{node.named} is inside the fused module {node.fused}"
    fx_node = fx_nodes.get(node.ref)
    if fx_node is None:
        return f"{node.named} has no node in the traced graph"
    inputs = fx_node.all_input_nodes
    if len(inputs) != 1 or not fx_node.args or fx_node.args[0] is not inputs[0]:
        return f"{node.named} reads more than one input"
    return ""


def _single(graph: RoleGraph, a: RoleNode, b: RoleNode) -> bool:
    return graph.succs[a.index] == (b.index,) and graph.preds[b.index] == (a.index,)


def _chain(nodes: list[RoleNode]) -> str:
    return ARROW.join(n.token for n in nodes)


def _names(nodes: list[RoleNode]) -> str:
    return ", ".join(n.named for n in nodes)


def swap_plans(graph: RoleGraph, first: str, second: str, fx_nodes: dict[str, fx.Node]):
    """Pairs (u, v): a ``first`` stage directly followed by a ``second`` stage."""
    plans, skips, used = [], [], set()
    for u in graph.of_role(first):
        for v in graph.succ_nodes(u):
            if v.role != second:
                continue
            problem = fx_problem(u, fx_nodes) or fx_problem(v, fx_nodes)
            if not problem and not _single(graph, u, v):
                problem = f"{u.named} and {v.named} are not a simple chain"
            if not problem and (u.index in used or v.index in used):
                problem = f"{u.named} and {v.named} overlap a swap already made"
            if problem:
                skips.append(RewriteSkip(u.label, problem))
                continue
            used.update((u.index, v.index))
            plans.append((u, v, RewriteChange(u.label, _chain([u, v]), _chain([v, u]))))
    return plans, skips


def dropout_plans(graph: RoleGraph, fx_nodes: dict[str, fx.Node]):
    """(dropout, anchor): move the dropout after the BatchNorm it reaches (and its activation)."""
    plans, skips = [], []
    for drop in graph.of_role("dropout"):
        bns = reached_bns(graph, drop)
        if not bns:
            continue
        path, node = [drop], drop
        while len(graph.succs[node.index]) == 1:
            nxt = graph.succ_nodes(node)[0]
            if nxt.role not in MOVABLE_ROLES or not _single(graph, node, nxt):
                break
            path.append(nxt)
            node = nxt
            if nxt.role == "norm":
                break
        if path[-1].role != "norm" or path[-1].kind != "bn":
            reason = f"it reaches {_names(bns)} through a branch or a residual sum; move it by hand"
            skips.append(RewriteSkip(drop.label, reason))
            continue
        nxt = graph.succ_nodes(path[-1])
        if len(nxt) == 1 and nxt[0].role == "act" and _single(graph, path[-1], nxt[0]):
            path.append(nxt[0])
        problem = fx_problem(drop, fx_nodes)
        if problem:
            skips.append(RewriteSkip(drop.label, problem))
            continue
        change = RewriteChange(drop.label, _chain(path), _chain([*path[1:], drop]))
        plans.append((drop, path[-1], change))
    return plans, skips


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _chain_from(graph, weight, forward, claimed, fx_nodes) -> list[RoleNode]:
    chain, node = [], weight
    while True:
        nbrs = graph.succ_nodes(node) if forward else graph.pred_nodes(node)
        if len(nbrs) != 1:
            return chain
        nxt = nbrs[0]
        pair = (node, nxt) if forward else (nxt, node)
        ok = nxt.role in MOVABLE_ROLES and _parent(nxt.path) == _parent(weight.path)
        if not ok or nxt.index in claimed or not _single(graph, *pair):
            return chain
        if fx_problem(nxt, fx_nodes):
            return chain
        chain.append(nxt)
        node = nxt


def _from_input(graph: RoleGraph, node: RoleNode) -> bool:
    """True when only reshapes lie between the model input and ``node``."""
    preds = graph.pred_nodes(node)
    while len(preds) == 1 and preds[0].role == "reshape":
        preds = graph.pred_nodes(preds[0])
    return len(preds) == 1 and preds[0].role == "input"


def _arrange(stages: list[RoleNode], order: Order, first: bool) -> tuple[tuple, tuple] | str:
    """The stages sorted into the order's positions, or why they do not fit."""
    want = [s.role for s in order if s.role != "weight" and s.kind != "none"]
    have = sorted(n.role for n in stages)
    if sorted(want) != have:
        got = _names(stages) or "nothing"
        return (
            f"its block has {got} ({', '.join(have)}) but {order.spec} needs"
            f" {', '.join(sorted(want))}; a block is the chain of norm/act/dropout stages next to"
            " the weight layer in the same parent module, up to a branch or a residual sum"
        )
    by_role = {n.role: n for n in stages}
    before = [s.role for s in order.before_weight() if s.role in by_role]
    after = [s.role for s in order.after_weight() if s.role in by_role]
    if first and before:
        return "first weight layer: a pre-activation on the raw input would discard information"
    return tuple(by_role[r] for r in before), tuple(by_role[r] for r in after)


def blocks(graph: RoleGraph, fx_nodes: dict[str, fx.Node]):
    """(weight, stages before it, stages after it) per weight layer: the chain of norm, act and
    dropout stages next to it in its parent module, up to a branch or a residual sum."""
    weights = graph.of_role("weight")
    posts, claimed = {}, set()
    for w in weights:
        posts[w.index] = _chain_from(graph, w, True, claimed, fx_nodes)
        claimed.update(n.index for n in posts[w.index])
    found = []
    for w in weights:
        pre = _chain_from(graph, w, False, claimed, fx_nodes)[::-1]
        claimed.update(n.index for n in pre)
        found.append((w, pre, posts[w.index]))
    return found


def block_plans(graph: RoleGraph, order: Order, fx_nodes: dict[str, fx.Node]):
    """One plan per weight layer whose block (stages in its parent module) can take ``order``."""
    plans, skips = [], []
    for w, pre, post in blocks(graph, fx_nodes):
        stages = [*pre, *post]
        if not stages:
            continue
        arranged = _arrange(stages, order, _from_input(graph, pre[0] if pre else w))
        if isinstance(arranged, str):
            skips.append(RewriteSkip(w.label, arranged))
            continue
        new_pre, new_post = arranged
        problem = _crossing_problem(w, pre, new_pre)
        if problem:
            skips.append(RewriteSkip(w.label, problem))
            continue
        before, after = _chain([*pre, w, *post]), _chain([*new_pre, w, *new_post])
        if before != after:
            plans.append(BlockPlan(w, new_pre, new_post, RewriteChange(w.label, before, after)))
    return plans, skips


def _crossing_problem(weight: RoleNode, pre: list[RoleNode], new_pre: tuple) -> str:
    """A norm that changes sides of the weight layer needs equal input and output channels."""
    old = {n.index for n in pre}
    for node in [n for n in new_pre if n.index not in old] + [n for n in pre if n not in new_pre]:
        if node.role != "norm":
            continue
        if weight.in_channels is None or weight.in_channels != weight.out_channels:
            return (
                f"{node.named} would move across {weight.named}, whose input and output"
                f" channels differ ({weight.in_channels} -> {weight.out_channels})"
            )
    return ""


def _absorbed(graph: RoleGraph) -> dict[str, bool]:
    """Weight layer label -> whether its output goes only into BatchNorm/InstanceNorm."""
    out = {}
    for w in graph.of_role("weight"):
        succ = graph.succ_nodes(w)
        out[w.label] = bool(succ) and all(n.role == "norm" and n.kind in ("bn", "in") for n in succ)
    return out


def bias_notes(before: RoleGraph, after: RoleGraph) -> tuple[str, ...]:
    """Weight layers whose bias became needed or redundant in the rewrite (left as they are)."""
    was, now = _absorbed(before), _absorbed(after)
    notes = []
    for w in after.of_role("weight"):
        if w.label not in was or was[w.label] == now[w.label]:
            continue
        if not w.bias and not now[w.label]:
            notes.append(
                f"{w.label} has no bias and no longer feeds a BatchNorm/InstanceNorm directly;"
                " layerorder's bias rule would give it one (not added: the rewrite keeps weights)"
            )
        elif w.bias and now[w.label]:
            notes.append(
                f"the bias of {w.label} now feeds only a BatchNorm/InstanceNorm and is redundant"
                " (lint rule redundant-bias)"
            )
    return tuple(notes)
