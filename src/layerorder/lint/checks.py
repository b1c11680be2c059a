"""The checks behind each rule in ``layerorder.lint.rules``: role graph in, findings out."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from layerorder.lint.foldplan import FoldPlan
from layerorder.lint.rules import Finding, finding
from layerorder.modelgraph.census import ARROW
from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.modelgraph.reach import padding_between, pool_first_pairs, reached_bns
from layerorder.order import BIAS_ABSORBING_NORMS

Check = Callable[[RoleGraph, dict[int, FoldPlan]], list[Finding]]


def dropout_before_norm(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for drop in graph.of_role("dropout"):
        bns = reached_bns(graph, drop)
        if not bns:
            continue
        names = ", ".join(b.label for b in bns)
        shift = f"; its running variance is off by about 1/(1-p) = {1 / (1 - drop.p):.2f}x"
        msg = (
            f"{drop.type_name} (p={drop.p:g}) reaches BatchNorm {names} with no weight layer"
            f" between{shift if drop.p and drop.p < 1 else ''}"
        )
        out.append(finding("dropout-before-norm", drop.label, msg, related=_labels(bns)))
    return out


def _absorbs(weight: RoleNode, norm: RoleNode) -> bool:
    """A batch or instance norm over the weight layer's output channels subtracts its bias."""
    if norm.role != "norm" or norm.kind not in BIAS_ABSORBING_NORMS:
        return False
    known = weight.out_channels is not None and norm.in_channels is not None
    return not known or weight.out_channels == norm.in_channels


def redundant_bias(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for w in graph.of_role("weight"):
        succ = graph.succ_nodes(w)
        if not w.bias or not succ:
            continue
        if all(_absorbs(w, n) for n in succ):
            names = ", ".join(f"{n.type_name} {n.label}" for n in succ)
            size = f" ({w.bias_params} parameters)" if w.bias_params else ""
            msg = f"the bias of {w.type_name}{size} only feeds {names}, which subtracts it"
            out.append(
                finding(
                    "redundant-bias",
                    w.label,
                    msg,
                    related=_labels(succ),
                    wasted_params=w.bias_params,
                )
            )
    return out


def _act_before(graph: RoleGraph, bn: RoleNode) -> RoleNode | None:
    node = bn
    while True:
        preds = graph.pred_nodes(node)
        if len(preds) != 1:
            return None
        node = preds[0]
        if node.role == "act":
            return node
        if node.role != "dropout":
            return None


def act_before_norm(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for bn in graph.nodes:
        if bn.role != "norm" or bn.kind != "bn":
            continue
        act = _act_before(graph, bn)
        if act is None:
            continue
        plan = folds.get(bn.index)
        if plan is not None and plan.into == "next":
            fold = f"it folds into the next weight layer {plan.weight} instead"
        else:
            why = plan.after if plan is not None else ""
            fold = "it does not fold into the next one either" + (f": {why}" if why else "")
        msg = (
            f"BatchNorm follows activation {act.label} ({act.kind}): it cannot be folded into"
            f" the weight layer before it; {fold}"
        )
        out.append(finding("act-before-norm", bn.label, msg, related=(act.label,)))
    return out


def act_before_maxpool(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for act, pool in pool_first_pairs(graph, fused=True):
        saved = ""
        if act.numel is not None and pool.numel is not None:
            saved = f"; {act.numel - pool.numel:,} fewer activation evaluations per forward pass"
        elif pool.shrink:
            saved = f"; {pool.shrink}x fewer activation evaluations"
        what = (f"the {act.kind} inside {act.type_name} {act.fused}" if act.fused
                else f"{act.type_name} ({act.kind})")
        padding = padding_between(graph, act, pool)
        padded = f" through {padding}" if padding else ""
        msg = (f"{what} feeds max-pool {pool.label}{padded}: pooling first gives the same"
               f" output{saved}")
        out.append(finding("act-before-maxpool", act.label, msg, related=(pool.label,)))
    return out


def _repeats(graph: RoleGraph, role: str, rule: str, noun: str) -> list[Finding]:
    out = []
    for node in graph.of_role(role):
        preds = graph.pred_nodes(node)
        if len(preds) == 1 and preds[0].role == role:
            prev = preds[0]
            msg = f"{noun} {node.kind} right after {noun} {prev.kind} ({prev.label})"
            out.append(finding(rule, node.label, msg, related=(prev.label,)))
    return out


def norm_after_norm(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    return _repeats(graph, "norm", "norm-after-norm", "norm")


def act_after_act(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    return _repeats(graph, "act", "act-after-act", "activation")


# Where the search for two weight layers with nothing nonlinear between them stops, besides
# nonlinear nodes: a join of two paths (a residual addition, a dense or U-Net concatenation) is
# structure, not a missing activation: conv_dw(fc2(h) + x) composes fc2 with the sum, not with
# fc2 alone, in every pre-norm residual block (ConvNeXt, ViT, MobileNet's inverted residuals).
STOP_ROLES = frozenset({"weight", "input", "output", "add", "concat"})


def _is_linear_step(node: RoleNode) -> bool:
    return node.linear and node.role not in STOP_ROLES


def _factorised(first: RoleNode, second: RoleNode) -> bool:
    """A deliberate factorisation rather than two layers that collapse into one of the same
    cost: a linear bottleneck, or a grouped (depthwise) convolution next to a dense one, as in
    Xception's separable convolutions and ConvNeXt's downsampling conv before a 7x7 depthwise
    conv (one dense conv with the combined kernel would cost far more)."""
    return _bottleneck(first, second) or first.groups > 1 or second.groups > 1


def _bottleneck(first: RoleNode, second: RoleNode) -> bool:
    """A deliberate linear bottleneck: the first layer does not widen and the second widens, so
    the pair is a low-rank factorisation or a block boundary (MobileNetV2 and EfficientNet
    project 96 -> 24 channels with no activation, then expand 24 -> 144; MobileNetV3's first
    block projects 16 -> 16 before the next expands 16 -> 72)."""
    widths = (first.in_channels, first.out_channels, second.in_channels, second.out_channels)
    if any(w is None for w in widths):
        return False
    into, middle, read, out = widths
    # the second reads what the first wrote (no flatten between widening the middle)
    return middle == read and middle <= into and middle < out


def _linear_reach(graph: RoleGraph, start: RoleNode) -> list[tuple[RoleNode, list[RoleNode]]]:
    """Weight layers reached from ``start`` through linear steps only, with the path taken."""
    parent: dict[int, int] = {start.index: -1}
    queue, hits = deque([start]), []
    while queue:
        node = queue.popleft()
        for nxt in graph.succ_nodes(node):
            if nxt.index in parent:
                continue
            parent[nxt.index] = node.index
            if nxt.role == "weight":
                hits.append(nxt)
            elif _is_linear_step(nxt):
                queue.append(nxt)
    result = []
    for hit in hits:
        path, i = [], hit.index
        while i != -1:
            path.append(graph.nodes[i])
            i = parent[i]
        result.append((hit, path[::-1]))
    return result


def no_nonlinearity(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for w in graph.of_role("weight"):
        for hit, path in _linear_reach(graph, w):
            if _factorised(w, hit):
                continue
            chain = ARROW.join(n.token for n in path)
            msg = (
                f"{w.label} and {hit.label} have nothing nonlinear between them ({chain}): they"
                " compose to one linear map; fine if this is a deliberate linear bottleneck"
            )
            out.append(finding("no-nonlinearity", w.label, msg, related=(hit.label,)))
    return out


def bn_not_foldable(graph: RoleGraph, folds: dict[int, FoldPlan]) -> list[Finding]:
    out = []
    for index, plan in folds.items():
        bn = graph.nodes[index]
        if plan.foldable or _act_before(graph, bn) is not None:
            continue  # act-before-norm already says where it folds
        msg = f"BatchNorm cannot be folded: {plan.reason}"
        out.append(finding("bn-not-foldable", plan.norm, msg))
    return out


def _labels(nodes: list[RoleNode]) -> tuple[str, ...]:
    return tuple(n.label for n in nodes)


CHECKS: dict[str, Check] = {
    "dropout-before-norm": dropout_before_norm,
    "redundant-bias": redundant_bias,
    "act-before-norm": act_before_norm,
    "act-before-maxpool": act_before_maxpool,
    "norm-after-norm": norm_after_norm,
    "act-after-act": act_after_act,
    "no-nonlinearity": no_nonlinearity,
    "bn-not-foldable": bn_not_foldable,
}
