"""The role graph: one node per call of a role-bearing layer or function, edges along the data flow.

Roles extend ``layerorder.order.ROLES`` (weight, norm, act, dropout) with the structure around them:
pool, add (a residual sum of two tensors), concat, reshape and other. ``input`` and ``output``
nodes mark where data enters and leaves the model. Kinds reuse the order-spec tokens where one
exists (``conv``, ``linear``, ``bn``, ``gn``, ``ln``, ``in``, ``relu``, ``drop``, ``dropch``, ...).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace

from layerorder.order import ROLES

GRAPH_ROLES = (*ROLES, "add", "concat", "reshape", "other")  # ROLES includes "pool"
ENDPOINT_ROLES = ("input", "output")


@dataclass(frozen=True)
class RoleNode:
    """One call in the model's data flow, with the facts the rules and folding need."""

    role: str
    kind: str
    path: str  # module path ('layer1.0.bn1') or enclosing module path + function ('layer1.0.add')
    source: str  # 'module', 'function', 'graph' (input/output)
    type_name: str  # class name of the module, or the function's name
    ref: str = ""  # fx node name (or hooks call id) this node came from
    index: int = -1
    call: int = 1  # which call of this path (a module used twice has calls 1 and 2)
    calls: int = 1
    linear: bool = False  # affine in its input at inference time
    bias: bool | None = None
    bias_params: int = 0
    in_channels: int | None = None
    out_channels: int | None = None
    zero_padding: bool = False  # a convolution that pads with zeros
    groups: int = 1  # a grouped convolution's groups (depthwise: one per channel)
    p: float | None = None  # dropout probability
    running_stats: bool = False  # a BatchNorm that uses running statistics in eval mode
    plain: bool = False  # exactly torch's Conv1d/2d/3d, Linear or BatchNorm1d/2d/3d class
    fused: str = ""  # the fused module (e.g. BatchNormAct2d) this node was expanded from
    monotone: bool = False  # an activation that is non-decreasing (max-pooling commutes with it)
    zero: bool = False  # an activation that maps 0 to 0 (zero padding commutes with it)
    shrink: int | None = None  # a pool: input elements per output element (product of strides)
    indices: bool = False  # a max-pool that also returns where each maximum was (its argmax)
    numel: int | None = None  # output elements per forward pass, when the model was run

    @property
    def label(self) -> str:
        """The path, with ``#k`` when the same module or function path is called more than once."""
        return self.path if self.calls <= 1 else f"{self.path}#{self.call}"

    @property
    def named(self) -> str:
        """How a message names the stage: a module call by its class and label
        ('BatchNorm2d features.4', so that a bare Sequential index reads as a module), a function
        call by its label alone ('layer1.0.add')."""
        return f"{self.type_name} {self.label}" if self.source == "module" else self.label

    @property
    def token(self) -> str:
        """The name used in pattern strings: the kind, or the role for add and concat."""
        if self.role == "add":
            return "add"
        if self.role == "concat":
            return "cat"
        return self.kind


@dataclass(frozen=True)
class RoleGraph:
    nodes: tuple[RoleNode, ...]
    preds: tuple[tuple[int, ...], ...]
    succs: tuple[tuple[int, ...], ...]
    mode: str  # how it was read: 'fx', 'hooks', 'torchscript', or a format's ('keras', 'onnx')
    note: str = ""

    def __len__(self) -> int:
        return len(self.nodes)

    def of_role(self, role: str) -> list[RoleNode]:
        return [n for n in self.nodes if n.role == role]

    def pred_nodes(self, node: RoleNode) -> list[RoleNode]:
        return [self.nodes[i] for i in self.preds[node.index]]

    def succ_nodes(self, node: RoleNode) -> list[RoleNode]:
        return [self.nodes[i] for i in self.succs[node.index]]

    def with_sizes(self, sizes: dict[str, int]) -> RoleGraph:
        """The graph with each module node's output size (elements per forward pass) filled in
        from ``sizes`` (module path -> elements), where the path was measured once."""
        nodes = tuple(
            replace(n, numel=sizes[n.path]) if n.calls == 1 and n.path in sizes else n
            for n in self.nodes
        )
        return replace(self, nodes=nodes)

    def role_counts(self) -> dict[str, int]:
        counts = {role: 0 for role in GRAPH_ROLES}
        for n in self.nodes:
            if n.role in counts:
                counts[n.role] += 1
        return {role: c for role, c in counts.items() if c}


class GraphBuilder:
    """Collects calls in execution order and contracts transparent ones (identity, getitem, ...).

    Keys are whatever identifies a value in the source (fx node names, hooks call ids). A call
    given ``specs=None`` is transparent: its value is an alias of its inputs' values.
    """

    def __init__(self) -> None:
        self._nodes: list[RoleNode] = []
        self._preds: list[list[int]] = []
        self._alias: dict[Hashable, tuple[int, ...]] = {}

    def _resolve(self, keys: Iterable[Hashable]) -> list[int]:
        found: list[int] = []
        for key in keys:
            for i in self._alias.get(key, ()):
                if i not in found:
                    found.append(i)
        return found

    def _append(self, node: RoleNode, preds: list[int]) -> int:
        index = len(self._nodes)
        self._nodes.append(replace(node, index=index))
        self._preds.append(preds)
        return index

    def add_input(self, key: Hashable, name: str) -> None:
        node = RoleNode("input", "input", name, "graph", "input", ref=str(key))
        self._alias[key] = (self._append(node, []),)

    def add_call(
        self, key: Hashable, specs: list[RoleNode] | None, inputs: Iterable[Hashable]
    ) -> None:
        preds = self._resolve(inputs)
        if not specs:
            self._alias[key] = tuple(preds)
            return
        last = preds
        for spec in specs:
            last = [self._append(replace(spec, ref=str(key)), last)]
        self._alias[key] = tuple(last)

    def add_output(self, inputs: Iterable[Hashable]) -> None:
        preds = self._resolve(inputs)
        self._append(RoleNode("output", "output", "output", "graph", "output"), preds)

    def has(self, key: Hashable) -> bool:
        return key in self._alias

    def _alive(self) -> list[int]:
        """Nodes the output depends on (dead ends such as a control-flow test are dropped)."""
        keep = {i for i, n in enumerate(self._nodes) if n.role in ENDPOINT_ROLES}
        stack = [i for i in keep if self._nodes[i].role == "output"]
        if not stack:
            return list(range(len(self._nodes)))
        while stack:
            for p in self._preds[stack.pop()]:
                if p not in keep:
                    keep.add(p)
                    stack.append(p)
        return sorted(keep)

    def build(self, mode: str, note: str = "") -> RoleGraph:
        alive = self._alive()
        new_index = {old: new for new, old in enumerate(alive)}
        kept = [self._nodes[i] for i in alive]
        preds = [[new_index[p] for p in self._preds[i] if p in new_index] for i in alive]
        calls: dict[str, int] = {}
        for n in kept:
            calls[n.path] = calls.get(n.path, 0) + 1
        seen: dict[str, int] = {}
        nodes = []
        for i, n in enumerate(kept):
            seen[n.path] = seen.get(n.path, 0) + 1
            nodes.append(replace(n, index=i, call=seen[n.path], calls=calls[n.path]))
        succs: list[list[int]] = [[] for _ in nodes]
        for i, node_preds in enumerate(preds):
            for p in node_preds:
                succs[p].append(i)
        return RoleGraph(
            nodes=tuple(nodes),
            preds=tuple(tuple(p) for p in preds),
            succs=tuple(tuple(s) for s in succs),
            mode=mode,
            note=note,
        )
