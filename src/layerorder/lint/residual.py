"""Transformer blocks read from the data flow, by structure, with no table of block classes.

A *residual sublayer* is an ``add`` of two tensors where one (the skip, the residual stream) is an
ancestor of the other (the branch's output); its branch is every node between the two. It is an
*attention* sublayer when its branch holds an attention call (``scaled_dot_product_attention``, a
softmax, ``nn.MultiheadAttention``), an *MLP* sublayer when it holds an activation between weight
layers. Where a norm sits is read from the graph, per sublayer:

- **pre**: a norm is the first stage of the branch (x + f(norm(x)));
- **post**: the add's output goes only into a norm, inside the block's module (norm(x + f(x)));
- **sandwich**: pre, and a norm is also the last stage of the branch (x + norm(f(norm(x)))).

A softmax counts as attention only over a product of two data tensors (q @ k^T), so a mixture
of experts' router does not; a branch that holds both attention and an MLP is a parallel block
on its own (GPT-J, GPT-NeoX).

A *block* is a run of attention sublayers (self-attention, then cross-attention in a decoder)
ended by an MLP sublayer, each taking the stream the previous one left; its path is the longest
module path that holds all of its stages. Consecutive blocks form a *stack* (an encoder, a
decoder); the stack's *final norm* is the first norm the stream meets after its last block, before
any weight layer. This reads Hugging Face BERT (post-LN), GPT-2 (pre-LN, ``ln_f``), LLaMA and T5
(pre-RMSNorm), ViT (pre-LN), timm and torchvision ViTs and hand-written blocks alike, with no
entry per class; a block whose module is a leaf of the graph (``nn.TransformerEncoderLayer``) is
read from its settings instead (``layerorder.lint.transformer``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.placements import PLACEMENT_NORM_OF_KIND

# calls that make a branch an attention sublayer (kinds are lower-cased call or class names)
ATTENTION_KINDS = frozenset(
    {
        "scaled_dot_product_attention",
        "multiheadattention",
        "multi_head_attention_forward",
        "native_multi_head_attention",
        "flash_attn_func",
        "flex_attention",
    }
)
# a softmax is attention's when it weighs a product of two data tensors (q @ k^T), reached
# upwards without crossing a weight layer or a norm (scaling, soft-capping and masks between
# are fine); a router's softmax (mixture of experts) weighs a linear layer's output
SCORE_KINDS = frozenset({"matmul", "bmm", "einsum", "baddbmm"})
SCORE_STOPS = frozenset({"weight", "norm", "input"})
# stages the stream passes through unchanged in structure on its way to a norm
PASS_ROLES = frozenset({"reshape", "dropout"})
# ... and on its way to a final norm, after the last block: pooling and a concatenation of its
# pieces too (BEiT's mean pooling before fc_norm, Swin's patch merging before its norm)
FINAL_PASS_ROLES = frozenset({"reshape", "dropout", "pool", "concat"})


@dataclass(frozen=True)
class TransformerBlock:
    path: str
    placement: str  # post-ln, pre-ln, sandwich-rmsnorm, mixed-ln, no-norm, ...
    source: str  # the block's class name, or 'structure' when read from the data flow
    first_norm: str = ""  # the norm opening its first sublayer (pre and sandwich), as a label


@dataclass(frozen=True)
class TransformerStack:
    """Consecutive blocks (an encoder, a decoder) and the norm after the last one."""

    blocks: tuple[TransformerBlock, ...]
    final_norm: str = ""  # the norm's label ('' for none)

    @property
    def placement(self) -> str:
        placements = {b.placement for b in self.blocks}
        return placements.pop() if len(placements) == 1 else "mixed"

    @property
    def needs_final_norm(self) -> bool:
        """Pre-norm and sandwich blocks leave the residual stream unnormalised."""
        return self.placement.startswith(("pre-", "sandwich-"))


@dataclass(frozen=True)
class Sublayer:
    add: int  # the residual add's node index
    skip: int  # the stream's node going into the add
    kind: str  # 'attention', 'mlp' or 'other'
    pre: int | None  # the norm opening the branch
    end: int | None  # the norm closing the branch (sandwich)
    post: int | None  # the norm the add's output goes into
    nodes: tuple[int, ...]  # the branch


def _walk(graph: RoleGraph, start: int, forward: bool,
          enters: Callable[[int], bool]) -> Iterator[int]:
    """Depth-first from ``start`` along the edges downstream (``forward``) or upstream: each
    node reached, once; the walk goes on past a node only where ``enters`` says so. Every walk
    of this module is one of these (a role graph is small, so no search library is worth it)."""
    edges = graph.succs if forward else graph.preds
    stack, seen = [start], {start}
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                yield nxt
                if enters(nxt):
                    stack.append(nxt)


def _reach(graph: RoleGraph, start: int, forward: bool) -> set[int]:
    """Every node downstream (``forward``) or upstream of ``start``."""
    return set(_walk(graph, start, forward, lambda _: True))


def _module_of(node: RoleNode) -> str:
    """The module a stage belongs to: a module call's own path, a function's enclosing one."""
    return node.path if node.source == "module" else node.path.rpartition(".")[0]


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + ".")


def _common_path(paths: list[str]) -> str:
    """The longest module path holding all of ``paths``; a list of modules (the next level is
    numbered: T5's ``block.0.layer.0`` and ``block.0.layer.1``) gives way to its owner."""
    parts = [p.split(".") if p else [] for p in paths]
    common: list[str] = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    below = {p[len(common)] for p in parts if len(p) > len(common)}
    if common and not common[-1].isdigit() and len(below) > 1 and all(
        b.isdigit() for b in below
    ):
        common.pop()
    return ".".join(common)


def _through(graph: RoleGraph, start: int, forward: bool,
             passes: frozenset[str] = PASS_ROLES) -> list[int]:
    """The nodes reached from ``start`` across ``passes`` roles only, one step further (linear
    'other' steps, such as a mean, pass where pooling does)."""
    def passed(i: int) -> bool:
        node = graph.nodes[i]
        return node.role in passes or ("pool" in passes and node.role == "other" and node.linear)

    return [i for i in _walk(graph, start, forward, passed) if not passed(i)]


def _is_score(graph: RoleGraph, index: int) -> bool:
    """A product of two data tensors (q @ k^T, or the weights times v)."""
    return graph.nodes[index].kind in SCORE_KINDS and len(graph.preds[index]) >= 2


def _mlp_activation(graph: RoleGraph, act: RoleNode) -> bool:
    """An activation that acts on a weight layer's output (an MLP's), not inside attention's
    scores (Gemma 2 soft-caps them with a tanh): upwards, a weight layer comes before any
    product of two data tensors."""
    def stops(i: int) -> bool:
        return graph.nodes[i].role in ("norm", "input") or _is_score(graph, i)

    def enters(i: int) -> bool:
        return not stops(i) and graph.nodes[i].role != "weight"

    return any(graph.nodes[i].role == "weight" and not stops(i)
               for i in _walk(graph, act.index, False, enters))


def _is_attention(graph: RoleGraph, nodes: list[RoleNode]) -> bool:
    """An attention call in the branch, or a softmax over a product of two data tensors."""
    if any(n.kind in ATTENTION_KINDS for n in nodes):
        return True

    def score(i: int) -> bool:
        return graph.nodes[i].role not in SCORE_STOPS and _is_score(graph, i)

    def enters(i: int) -> bool:
        return graph.nodes[i].role not in SCORE_STOPS and not _is_score(graph, i)

    return any(score(i) for softmax in nodes if softmax.kind == "softmax"
               for i in _walk(graph, softmax.index, False, enters))


def _continues(graph: RoleGraph, stream: int, node: int) -> bool:
    """Whether ``node`` is ``stream`` itself or reached from it across reshapes and dropouts
    only (a norm applied through transposes, as for a BatchNorm over tokens)."""
    def passes(i: int) -> bool:
        return graph.nodes[i].role in PASS_ROLES

    return node == stream or any(i == node and passes(i)
                                 for i in _walk(graph, stream, True, passes))


def _sublayer(graph: RoleGraph, add: RoleNode) -> Sublayer | None:
    preds = graph.preds[add.index]
    if len(preds) != 2:
        return None
    a, b = preds
    if a in _reach(graph, b, False):
        skip, end = a, b
    elif b in _reach(graph, a, False):
        skip, end = b, a
    else:
        return None
    branch = (_reach(graph, skip, True) & (_reach(graph, end, False) | {end})) - {skip, add.index}
    nodes = [graph.nodes[i] for i in sorted(branch)]
    attention = _is_attention(graph, nodes)
    mlp = sum(n.role == "weight" for n in nodes) >= 2 and any(
        n.role == "act" and _mlp_activation(graph, n) for n in nodes)
    # both in one branch: a parallel block (GPT-J, GPT-NeoX, Falcon: x + attn(n(x)) + mlp(n(x)))
    kind = "parallel" if attention and mlp else "attention" if attention else \
        "mlp" if mlp else "other"
    first = [i for i in _through(graph, skip, True) if i in branch]
    pre = next((i for i in first if graph.nodes[i].role == "norm"), None)
    last = [end] if graph.nodes[end].role not in PASS_ROLES else _through(graph, end, False)
    closing = next((i for i in last if graph.nodes[i].role == "norm" and i in branch), None)
    after = _through(graph, add.index, True)
    post = after[0] if len(after) == 1 and graph.nodes[after[0]].role == "norm" else None
    return Sublayer(add.index, skip, kind, pre, closing, post, tuple(sorted(branch)))


@dataclass(frozen=True)
class FoundBlock:
    path: str
    placement: str  # pre-ln, post-ln, sandwich-rmsnorm, mixed-ln, no-norm
    sublayers: tuple[Sublayer, ...]
    first_norm: int | None  # the norm opening its first sublayer (pre and sandwich)

    @property
    def output(self) -> int:
        """The stream's node after the block: its last add, or the norm after it (post)."""
        last = self.sublayers[-1]
        return last.post if last.post is not None else last.add

    @property
    def entry(self) -> int:
        return self.sublayers[0].skip


@dataclass(frozen=True)
class FoundStack:
    blocks: tuple[FoundBlock, ...]
    final_norm: int | None  # node index of the norm after the last block


def _placement(graph: RoleGraph, subs: list[Sublayer], path: str) -> str:
    def inside(i: int | None) -> bool:
        return i is not None and _under(_module_of(graph.nodes[i]), path)

    norms = [i for s in subs for i in (s.pre, s.end, s.post) if i is not None]
    if not norms:
        return "no-norm"
    kinds = {graph.nodes[i].kind for i in norms}
    norm = PLACEMENT_NORM_OF_KIND.get(kinds.pop(), "norm") if len(kinds) == 1 else "norm"
    pre = all(s.pre is not None for s in subs)
    closing = all(s.end is not None for s in subs)
    post = all(inside(s.post) for s in subs)
    if pre and closing:
        where = "sandwich"
    elif pre and not any(inside(s.post) for s in subs):
        where = "pre"
    elif post and not any(s.pre is not None for s in subs):
        where = "post"
    else:
        where = "mixed"
    return f"{where}-{norm}"


def _stream_out(sub: Sublayer) -> int:
    return sub.post if sub.post is not None else sub.add


def _blocks(graph: RoleGraph, subs: list[Sublayer]) -> list[FoundBlock]:
    found: list[FoundBlock] = []
    run: list[Sublayer] = []
    for sub in subs:
        if run and not _continues(graph, _stream_out(run[-1]), sub.skip):
            run = []
        if sub.kind == "attention":
            run.append(sub)
        elif (sub.kind == "mlp" and run) or (sub.kind == "parallel" and not run):
            members = [*run, sub]
            # the branches' stages name the block (the adds may be written in the stack's own
            # forward, x = attn(x) + x, outside every block's module)
            path = _common_path([_module_of(graph.nodes[i]) for s in members for i in s.nodes])
            last = members[-1]
            if last.post is not None and not _under(_module_of(graph.nodes[last.post]), path):
                members[-1] = Sublayer(last.add, last.skip, last.kind, last.pre, last.end,
                                       None, last.nodes)  # a norm after the block: not post
            placement = _placement(graph, members, path)
            found.append(FoundBlock(path, placement, tuple(members), members[0].pre))
            run = []
        else:
            run = []
    return found


def _final_norm(graph: RoleGraph, block: FoundBlock) -> int | None:
    """The first norm the stream meets after the block, across reshapes, dropouts, pooling and
    concatenations."""
    ahead = _through(graph, block.output, True, FINAL_PASS_ROLES)
    return next((i for i in ahead if graph.nodes[i].role == "norm"), None)


def found_stacks(graph: RoleGraph) -> list[FoundStack]:
    """Every stack of Transformer blocks found in ``graph``, in data-flow order, by node."""
    subs = [s for n in graph.of_role("add") if (s := _sublayer(graph, n)) is not None]
    blocks = _blocks(graph, subs)
    stacks: list[list[FoundBlock]] = []
    for block in blocks:
        if stacks and _continues(graph, stacks[-1][-1].output, block.entry):
            stacks[-1].append(block)
        else:
            stacks.append([block])
    return [FoundStack(tuple(s), _final_norm(graph, s[-1])) for s in stacks]


def residual_stacks(graph: RoleGraph) -> list[TransformerStack]:
    """Every stack of Transformer blocks found in ``graph``, as records of module paths."""

    def label(index: int | None) -> str:
        return graph.nodes[index].label if index is not None else ""

    return [
        TransformerStack(
            tuple(TransformerBlock(b.path, b.placement, "structure", label(b.first_norm))
                  for b in stack.blocks),
            label(stack.final_norm),
        )
        for stack in found_stacks(graph)
    ]
