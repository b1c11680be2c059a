"""The role graph of a TorchScript module (``torch.jit.load``), read from its graphs, not run.

A ScriptModule keeps its module tree and one graph per method. The reader walks ``forward``'s
graph. A call of a submodule's method (``prim::CallMethod``) is a layer when the submodule's
``original_name`` is a ``torch.nn`` class: one role node for a layer we know (``Conv2d``,
``BatchNorm2d``: its facts read from a stand-in built from the submodule's own attributes and
tensors), one opaque node for any other (``TransformerEncoderLayer``), as torch.fx keeps them.
Any other submodule is code to walk into, with its path as the prefix. An ``aten::`` call is a
function node named like the hooks reader names it (``layer1.0.add``). Lists and tuples pass
their values through; both branches of a ``prim::If`` are read (a model's fast path included).
Forward hooks and ``__torch_function__`` do not reach TorchScript, and torch.fx cannot trace
it, so this is the only way to read a scripted model.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Hashable, Iterable
from typing import Any

import torch
from torch import nn

from layerorder.modelgraph.graph import GraphBuilder, RoleGraph, RoleNode
from layerorder.modelgraph.roles import classify_call, classify_module, module_entry

# torch.nn classes by name: a scripted layer's ``original_name`` is its class's name
NN_CLASSES: dict[str, type[nn.Module]] = {
    name: cls for name, cls in vars(nn).items()
    if isinstance(cls, type) and issubclass(cls, nn.Module)
}
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
PASS_KINDS = frozenset({
    "prim::ListConstruct", "prim::TupleConstruct", "prim::ListUnpack", "prim::TupleUnpack",
    "prim::TupleIndex", "prim::unchecked_cast", "prim::NumToTensor", "aten::__getitem__",
})


def is_script_module(model: Any) -> bool:
    return isinstance(model, torch.jit.ScriptModule)


def standin(script: Any) -> nn.Module | None:
    """An eager twin of a scripted ``torch.nn`` layer (``Conv2d``, ``ReLU``, ...): built on the
    meta device from the constructor arguments the ScriptModule kept as attributes, then given
    its tensors (so a PReLU's slope is read as trained). None where the class is not in
    ``torch.nn``, or its attributes do not give its constructor's arguments."""
    cls = NN_CLASSES.get(getattr(script, "original_name", ""))
    if cls is None or cls in CONTAINERS:
        return None
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in ("self", "device", "dtype") or param.kind in (param.VAR_POSITIONAL,
                                                                 param.VAR_KEYWORD):
            continue
        if name == "bias" and param.default is True:
            kwargs[name] = getattr(script, "bias", None) is not None
        elif hasattr(script, name):
            kwargs[name] = getattr(script, name)
        elif param.default is inspect.Parameter.empty:
            return None
    try:
        with torch.device("meta"):
            twin = cls(**kwargs)
        twin.load_state_dict(script.state_dict(), assign=True, strict=False)
    except Exception:  # an attribute that does not round-trip: an opaque torch.nn layer
        return None
    twin.train(script.training)
    return twin


def _leaf_specs(script: Any, path: str) -> list[RoleNode] | None | bool:
    """The role nodes of a scripted ``torch.nn`` layer, a leaf as torch.fx keeps it (a layer we
    know by its role, any other, such as ``TransformerEncoderLayer``, as one 'other' node);
    False for a module to walk into (a container, or the user's own class)."""
    name = getattr(script, "original_name", "")
    if name not in NN_CLASSES or NN_CLASSES[name] in CONTAINERS:
        return False
    twin = standin(script)
    if twin is not None and module_entry(twin) is not None:
        return classify_module(twin, path)
    return [RoleNode("other", name.lower(), path, "module", name)]


class _Reader:
    def __init__(self) -> None:
        self.builder = GraphBuilder()
        self.scopes = itertools.count()
        self.objects: dict[Hashable, tuple[Any, str]] = {}  # a GetAttr's value -> (obj, path)

    def _walk(self, graph: Any, keys: dict[Any, Hashable], path: str) -> list[Hashable]:
        """Add the calls of ``graph``, a method of the module at ``path``; ``keys`` maps its
        input values to the builder's keys. Returns the keys of its outputs."""
        scope = next(self.scopes)

        def key(value: Any) -> Hashable:
            return keys.get(value.unique(), (scope, value.unique()))

        self._nodes(graph.nodes(), key, scope, path)
        return [key(v) for v in graph.outputs()]

    def _data(self, values: Iterable[Any], key) -> list[Hashable]:
        return [key(v) for v in values if self.builder.has(key(v))]

    def _nodes(self, nodes: Iterable[Any], key, scope: int, path: str) -> None:
        for node in nodes:
            kind = node.kind()
            outs = list(node.outputs())
            if kind == "prim::GetAttr":
                owner = self.objects.get(key(node.input()))
                if owner is not None:
                    obj, where = owner
                    name = node.s("name")
                    child = getattr(obj, name, None)
                    self.objects[key(outs[0])] = (child, f"{where}.{name}" if where else name)
            elif kind == "prim::CallMethod":
                self._call_method(node, key, outs)
            elif kind in ("prim::If", "prim::Loop"):
                results: list[Hashable] = []
                for block in node.blocks():
                    self._nodes(block.nodes(), key, scope, path)
                    results += self._data(block.outputs(), key)
                for out in outs:
                    self.builder.add_call(key(out), None, results)
            elif kind in PASS_KINDS:
                for out in outs:
                    self.builder.add_call(key(out), None, self._data(node.inputs(), key))
            elif kind.startswith("aten::") and outs:
                self._aten(node, key, outs, path)

    def _call_method(self, node: Any, key, outs: list[Any]) -> None:
        target = self.objects.get(key(node.inputsAt(0)))
        args = list(node.inputs())[1:]
        data = self._data(args, key)
        if target is None or not outs:
            return
        obj, path = target
        name = node.s("name")
        leaf = _leaf_specs(obj, path) if name == "forward" else False
        if leaf is not False:
            self.builder.add_call(key(outs[0]), leaf, data)
            return
        method = getattr(obj, name, None)
        graph = getattr(method, "graph", None)
        if graph is None:
            return
        inner = list(graph.inputs())
        scope = next(self.scopes)
        keys = {inner[0].unique(): (scope, "self")}
        self.objects[(scope, "self")] = (obj, path)
        for value, arg in zip(inner[1:], args):
            keys[value.unique()] = key(arg)
        results = self._walk(graph, keys, path)
        for out, result in zip(outs, results):
            self.builder.add_call(key(out), None, [result] if self.builder.has(result) else [])
        if len(outs) == 1 and len(results) > 1:  # a tuple returned as one value
            self.builder.add_call(key(outs[0]), None, [r for r in results
                                                        if self.builder.has(r)])

    def _aten(self, node: Any, key, outs: list[Any], path: str) -> None:
        name = node.kind().split("::", 1)[1]
        data = self._data(node.inputs(), key)
        if not data:
            return  # computed from constants and shapes only
        args = []
        for value in node.inputs():
            constant = value.node().kind() == "prim::Constant"
            args.append(value.toIValue() if constant else value)
        specs = classify_call(name, tuple(args), {}, f"{path}.{name}" if path else name,
                              len(data))
        self.builder.add_call(key(outs[0]), specs, data)
        for out in outs[1:]:
            self.builder.add_call(key(out), None, [key(outs[0])])

    def read(self, module: Any) -> RoleGraph:
        graph = module.forward.graph
        inputs = list(graph.inputs())
        keys = {inputs[0].unique(): ("root", "self")}
        self.objects[("root", "self")] = (module, "")
        for i, value in enumerate(inputs[1:]):
            self.builder.add_input(("input", i), "input" if len(inputs) == 2 else f"input{i}")
            keys[value.unique()] = ("input", i)
        self.builder.add_output(self._walk(graph, keys, ""))
        return self.builder.build("torchscript")


def graph_from_script(module: Any) -> RoleGraph:
    """The role graph of a ScriptModule (see the module docstring)."""
    return _Reader().read(module)
