"""``rewrite_model``: move norm, activation and dropout stages of a traced model; keep every weight.

The model is copied and traced with torch.fx; stages are moved by rewiring the fx graph, so a
module that is called in several places (torchvision's shared ``relu``) moves per call. Moves are
channel-preserving: norm/act/dropout keep the tensor's shape, and a norm only crosses a weight layer
whose input and output channel counts agree. The result is a ``torch.fx.GraphModule`` holding the
same (copied) modules and parameters.

Operations, applied in this order when combined:
    swap=("norm", "act")          every norm directly followed by an activation becomes act -> norm
    move_dropout_after_norm=True  a dropout that feeds a BatchNorm moves after it (and after the
                                  activation right after it), as Li et al. 2019 advise
    to="bn-relu-conv-drop"        every block (stages that share the weight layer's parent module)
                                  whose roles match the order is rearranged into it; roles decide,
                                  the model keeps its own kinds (a gelu stays a gelu)
    pool_first=True               every non-decreasing activation that feeds a max-pool moves after
                                  it, past copying or zero padding between them (the
                                  ``act-before-maxpool`` rule); alone, the output is checked to be
                                  equal bit for bit, or within the rounding of a transcendental
                                  activation evaluated elsewhere (``POOL_FIRST_ULPS``)
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.fx as fx
from torch import nn

from layerorder.errors import did_you_mean
from layerorder.modelgraph.build import materialise, run_model
from layerorder.modelgraph.census import ARROW
from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.modelgraph.hooks import tensors_in
from layerorder.modelgraph.plans import (
    MOVABLE_ROLES,
    RewriteChange,
    RewriteSkip,
    bias_notes,
    block_plans,
    blocks,
    dropout_plans,
    swap_plans,
)
from layerorder.modelgraph.reach import pool_first_pairs
from layerorder.modelgraph.trace import graph_from_fx, trace_module
from layerorder.order import Order, parse_order


@dataclass(frozen=True)
class RewriteResult:
    model: fx.GraphModule
    changes: tuple[RewriteChange, ...]
    skipped: tuple[RewriteSkip, ...]
    checked_shape: tuple[int, ...] | None  # the input shape it was run on, None if not run
    notes: tuple[str, ...] = ()  # biases that became needed or redundant
    same_output: bool | None = None  # --pool-first alone: output equal to the original's
    # --pool-first alone: the largest absolute difference from the original's output (0.0: bit
    # for bit; above 0: within rounding, ``POOL_FIRST_ULPS``)
    difference: float | None = None

    @property
    def code(self) -> str:
        return self.model.code


def _detach(node: fx.Node) -> None:
    """Take ``node`` out of its chain: its user reads the node's input instead."""
    node.replace_all_uses_with(node.args[0])


def _insert_after(node: fx.Node, anchor: fx.Node) -> None:
    """anchor -> node -> (everything that read anchor)."""
    for user in list(anchor.users):
        if user is not node:
            user.replace_input_with(anchor, node)
    node.update_arg(0, anchor)
    anchor.append(node)


def _insert_before(node: fx.Node, target: fx.Node) -> None:
    """(target's input) -> node -> target; other readers of that input are not touched."""
    source = target.args[0]
    target.replace_input_with(source, node)
    node.update_arg(0, source)
    target.prepend(node)


def parse_swap(swap: str | Sequence[str]) -> tuple[str, str]:
    """``'norm,act'`` -> ('norm', 'act'): two different roles among norm, act and dropout."""
    parts = [p.strip().lower() for p in (swap.split(",") if isinstance(swap, str) else swap)]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise LintError(f"--swap takes two different roles like 'norm,act', got '{swap}'")
    for part in parts:
        if part not in MOVABLE_ROLES:
            raise LintError(
                f"--swap: '{part}' is not a movable role" + did_you_mean(part, MOVABLE_ROLES)
            )
    return parts[0], parts[1]


def _nodes(gm: fx.GraphModule) -> dict[str, fx.Node]:
    return {n.name: n for n in gm.graph.nodes}


def _swap(gm: fx.GraphModule, first: str, second: str):
    fx_nodes = _nodes(gm)
    plans, skips = swap_plans(graph_from_fx(gm), first, second, fx_nodes)
    for u, v, _ in plans:
        _detach(fx_nodes[u.ref])
        _insert_after(fx_nodes[u.ref], fx_nodes[v.ref])
    return [c for *_, c in plans], skips


def _move_dropout(gm: fx.GraphModule):
    fx_nodes = _nodes(gm)
    plans, skips = dropout_plans(graph_from_fx(gm), fx_nodes)
    for drop, anchor, _ in plans:
        _detach(fx_nodes[drop.ref])
        _insert_after(fx_nodes[drop.ref], fx_nodes[anchor.ref])
    return [c for *_, c in plans], skips


def _to_order(gm: fx.GraphModule, order: Order):
    fx_nodes = _nodes(gm)
    plans, skips = block_plans(graph_from_fx(gm), order, fx_nodes)
    for plan in plans:
        weight = fx_nodes[plan.weight.ref]
        for stage in (*plan.pre, *plan.post):
            _detach(fx_nodes[stage.ref])
        for stage in plan.pre:
            _insert_before(fx_nodes[stage.ref], weight)
        tail = weight
        for stage in plan.post:
            _insert_after(fx_nodes[stage.ref], tail)
            tail = fx_nodes[stage.ref]
    return [p.change for p in plans], skips


def _pool_first(gm: fx.GraphModule):
    """Move each non-decreasing activation after the max-pool it feeds (the pairs the
    ``act-before-maxpool`` rule reports), past the padding between them too: that padding copies
    its input, or pads zeros into an activation that keeps zero, so it commutes with the
    activation as the pool does."""
    fx_nodes = _nodes(gm)
    changes, skips = [], []
    graph = graph_from_fx(gm)
    for act, pool in pool_first_pairs(graph):
        chain = _chain(graph, act, pool)
        # only the activation is taken out and put back: the padding and the pool stay as they
        # are (a pad may read its size from the activation's shape, which its input shares)
        fx_act, fx_pool = fx_nodes.get(act.ref), fx_nodes.get(pool.ref)
        inputs = fx_act.all_input_nodes if fx_act is not None else []
        anchor = _pooled(fx_pool) if fx_pool is not None else None
        if fx_act is None or len(inputs) != 1 or fx_act.args[0] is not inputs[0]:
            problem = f"{act.named} is not a single-input call in the traced graph"
        elif anchor is None:
            problem = f"{pool.named} returns more than its pooled values to its readers"
        elif _in_place(gm, fx_act) and len(inputs[0].users) > 1:
            problem = (f"{act.named} works in place on a tensor that is read elsewhere too;"
                       " moved, it would no longer change what those readers see")
        else:
            problem = ""
        if problem:
            skips.append(RewriteSkip(act.label, problem))
            continue
        _detach(fx_act)
        _insert_after(fx_act, anchor)
        before = ARROW.join(n.token for n in chain)
        after = ARROW.join(n.token for n in (*chain[1:], act))
        changes.append(RewriteChange(act.label, before, after))
    return changes, skips


def _pooled(pool: fx.Node) -> fx.Node | None:
    """Where a pool's values are read: the pool itself, or the one ``[0]`` of a pool that also
    returns its indices (read nowhere); None when anything else reads it."""
    readers = [u for u in pool.users
               if not (u.op == "call_function" and u.target is operator.getitem
                       and u.args[1] != 0 and not u.users)]
    tuples = [u for u in readers if u.op == "call_function" and u.target is operator.getitem]
    if not tuples:
        return pool
    if len(readers) == 1 and readers[0].args[1] == 0:
        return readers[0]
    return None


def _in_place(gm: fx.GraphModule, node: fx.Node) -> bool:
    """An activation that overwrites its input: a module with ``inplace`` set, a call with
    ``inplace=True`` (or a positional True), or an underscore method or function (``relu_``)."""
    if node.op == "call_module":
        return bool(getattr(gm.get_submodule(node.target), "inplace", False))
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    return (node.kwargs.get("inplace") is True or any(a is True for a in node.args[1:])
            or (name.endswith("_") and not name.endswith("__")))


def _chain(graph: RoleGraph, act: RoleNode, pool: RoleNode) -> list[RoleNode]:
    """The nodes from ``act`` to ``pool`` of a ``pool_first_pairs`` pair, both included: one
    input at every step."""
    chain = [pool]
    while chain[-1] is not act:
        chain.append(graph.pred_nodes(chain[-1])[0])
    return chain[::-1]


def _traced_copy(model: nn.Module) -> fx.GraphModule:
    try:
        return trace_module(copy.deepcopy(model))
    except Exception as exc:
        raise LintError(
            f"rewrite needs a model torch.fx can trace; this one cannot be traced"
            f" ({short_reason(exc)})"
        ) from exc


def block_orders(model: nn.Module) -> tuple[tuple[str, int], ...]:
    """The order of each block ``rewrite --to`` can arrange (a weight layer and the norm,
    activation and dropout stages next to it in its parent module), as order specs with how many
    blocks have it, most frequent first: ``(('linear-bn-relu-drop', 3), ('linear', 1))``."""
    gm = _traced_copy(model)
    counts: dict[str, int] = {}
    for w, pre, post in blocks(graph_from_fx(gm), _nodes(gm)):
        spec = "-".join(n.token for n in (*pre, w, *post))
        counts[spec] = counts.get(spec, 0) + 1
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def rewrite_model(
    model: nn.Module,
    *,
    swap: str | Sequence[str] | None = None,
    move_dropout_after_norm: bool = False,
    to: str | Order | None = None,
    pool_first: bool = False,
    example_input: torch.Tensor | None = None,
) -> RewriteResult:
    """Rewrite a copy of ``model``; the original is not touched.

    Returns the rewritten GraphModule, what changed and what was skipped (with reasons). With
    ``example_input`` the result is run once (eval mode) to check that it works; with
    ``pool_first`` alone, also that its output equals the original's bit for bit.
    """
    if swap is None and not move_dropout_after_norm and to is None and not pool_first:
        raise LintError(
            "nothing to rewrite: give --swap, --move-dropout-after-norm, --to or --pool-first"
        )
    materialise(model, example_input)
    gm = _traced_copy(model)
    original = graph_from_fx(gm)
    changes: list[RewriteChange] = []
    skipped: list[RewriteSkip] = []
    steps = []
    if swap is not None:
        pair = parse_swap(swap)
        steps.append(lambda g: _swap(g, *pair))
    if move_dropout_after_norm:
        steps.append(_move_dropout)
    if to is not None:
        order = parse_order(to)
        steps.append(lambda g: _to_order(g, order))
    if pool_first:
        steps.append(_pool_first)
    for step in steps:
        done, skips = step(gm)
        changes.extend(done)
        skipped.extend(skips)
        gm.graph.lint()
        gm.recompile()
    checked, same, difference = None, None, None
    if example_input is not None:
        after = run_model(gm, example_input, "the rewritten model")
        checked = tuple(example_input.shape)
        if pool_first and len(steps) == 1:
            before = run_model(model, example_input, "the original model")
            difference = _rounding_apart(model, gm, example_input, before, after)
            if difference is None:
                raise LintError(
                    "pooling first changed the model's output on a random input; the model was"
                    " not rewritten (please report this model)"
                )
            same = difference == 0.0
    notes = bias_notes(original, graph_from_fx(gm))
    return RewriteResult(gm, tuple(changes), tuple(skipped), checked, notes, same, difference)


# Pooling first evaluates the activation at other positions of other tensors, and torch's
# vectorised transcendental functions (softplus, sigmoid, tanh, exp) round differently by position
# in the vector, so an exact identity can move the output's last bits. Where the outputs differ,
# both models run again in float64: rounding then shrinks to float64's, within this many of its
# machine epsilons of the output's largest magnitude, while a real change stays.
POOL_FIRST_ULPS = 64


def _rounding_apart(model: nn.Module, rewritten: nn.Module, example: torch.Tensor, before,
                    after) -> float | None:
    """The largest absolute difference between the two models' outputs (``before``,
    ``after``) where it is rounding (0.0: equal bit for bit); None where it is a change: the
    difference stays in float64, the outputs do not match in structure, shape or dtype, or
    their non-finite values (NaN, infinities) sit in other places."""
    gap = _largest_gap(before, after)
    if gap is None or gap == 0.0:
        return gap
    if not example.is_floating_point():
        return None
    wide = example.double()
    before64 = run_model(copy.deepcopy(model).double(), wide, "the original model in float64")
    after64 = run_model(copy.deepcopy(rewritten).double(), wide,
                        "the rewritten model in float64")
    gap64 = _largest_gap(before64, after64)
    scale = max((float(t[t.isfinite()].abs().max()) for t in tensors_in(before64)
                 if t.isfinite().any()), default=0.0)
    eps = torch.finfo(torch.float64).eps
    return gap if gap64 is not None and gap64 <= POOL_FIRST_ULPS * eps * scale else None


def _largest_gap(before, after) -> float | None:
    """max |after - before| over the finite values of two outputs whose tensors (``tensors_in``)
    match in number, shape and dtype and whose non-finite values match in place and kind; None
    where they do not, or where there is no tensor to compare."""
    olds, news = list(tensors_in(before)), list(tensors_in(after))
    pairs = list(zip(olds, news, strict=False))
    if (not olds or len(olds) != len(news)
            or any(b.shape != a.shape or b.dtype != a.dtype for b, a in pairs)):
        return None
    gap = 0.0
    for b, a in pairs:
        if torch.equal(b, a):
            continue
        if not b.is_floating_point():
            return None
        finite = b.isfinite()
        if not torch.equal(finite, a.isfinite()) or not torch.equal(
                b[~finite].nan_to_num(0.0), a[~finite].nan_to_num(0.0)):
            return None
        if finite.any():
            gap = max(gap, float((a[finite] - b[finite]).abs().max()))
    return gap


AS_IS = "as-is"  # the order of a user's model left as it is


def rewritten(model: nn.Module, order: str, example_input: torch.Tensor) -> nn.Module:
    """``model`` rewritten to ``order`` (weights of unchanged layers kept), the model itself for
    ``as-is`` or where every block already has that order; raises ``LintError`` with the reasons
    when the order applies to no block of it."""
    if order == AS_IS:
        return model
    result = rewrite_model(model, to=order, example_input=example_input)
    if result.changes:
        return result.model
    if _already(model, order):
        return model
    reasons = "; ".join(f"{s.place}: {s.reason}" for s in result.skipped[:3]) or "no matching block"
    raise LintError(f"order '{order}' does not apply to any block of the model ({reasons})")


def _already(model: nn.Module, order: str) -> bool:
    """True when a block of the model is already in ``order`` (the rewrite had nothing to do):
    a weight layer with exactly those stages around it. (Not a census pattern: ``bn→relu→linear``
    also runs across a block and the head, and would pass for a pre-activation order.)"""
    from layerorder.order import OrderSpecError

    spec = parse_order(order).spec
    for found, _ in block_orders(model):
        try:
            if parse_order(found).spec == spec:
                return True
        except OrderSpecError:
            continue
    return False
