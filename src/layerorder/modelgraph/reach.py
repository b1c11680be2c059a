"""What a stage reaches on the role graph: the BatchNorms a dropout's variance shift arrives at, and
the activation/max-pool pairs that may swap. Read by lint's checks and by the rewrite's plans."""

from __future__ import annotations

from collections import deque

from layerorder.modelgraph.graph import RoleGraph, RoleNode

# a padding stage that pads with zeros: Keras ZeroPadding*D, torch's nn.ZeroPad*d and
# nn.ConstantPad*d(value=0), F.pad's constant mode with value 0, an ONNX Pad of zeros
ZERO_PAD = "zeropad"
# a padding stage that copies values of its input (reflect, replicate, circular): torch's
# nn.ReflectionPad*d, nn.ReplicationPad*d, nn.CircularPad*d, F.pad in those modes, an ONNX Pad in
# reflect, edge or wrap mode. It commutes with any elementwise function: f of a copy is a copy of f
COPY_PAD = "copypad"

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


def pool_first_pairs(graph: RoleGraph, *, fused: bool = False
                     ) -> list[tuple[RoleNode, RoleNode]]:
    """(activation, max-pool): a non-decreasing activation whose only reader is a max-pool that
    reads nothing else, so the pool can go first with the same output. Padding that copies its
    input (``COPY_PAD``) may stand between the two, and zero padding (``ZERO_PAD``) when the
    activation maps 0 to 0: either commutes with both.
    ``fused``: also an activation inside its weight layer (Keras's ``Conv2D(activation="relu")``),
    which a report names but a rewrite cannot move."""
    pairs = []
    for act in graph.of_role("act"):
        if not act.monotone or (act.fused and not fused):
            continue
        node, pads = act, act.zero
        while True:
            succ = graph.succ_nodes(node)
            if len(succ) != 1 or graph.preds[succ[0].index] != (node.index,):
                break
            node = succ[0]
            if not (node.kind == COPY_PAD or (pads and node.kind == ZERO_PAD)):
                break
        # a pool that returns its argmax is left alone: the activation's ties (ReLU's zeros)
        # can change which position is the maximum, though not its value
        if node.role == "pool" and node.kind == "maxpool" and node is not act and not node.indices:
            pairs.append((act, node))
    return pairs


def padding_between(graph: RoleGraph, act: RoleNode, pool: RoleNode) -> str:
    """What pads stand between a pair of ``pool_first_pairs``: 'zero padding' (any of them
    pads with zeros), 'padding that copies its input', or '' when the pool reads the activation
    itself. Only for such a pair: its chain has one input at every step."""
    kinds, node = set(), pool
    while graph.preds[node.index] != (act.index,):
        node = graph.pred_nodes(node)[0]
        kinds.add(node.kind)
    if not kinds:
        return ""
    return "zero padding" if ZERO_PAD in kinds else "padding that copies its input"
