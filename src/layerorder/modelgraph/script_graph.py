"""The role graph of a TorchScript module (``torch.jit.load``), read from its graphs, not run.

A ScriptModule keeps its module tree and one graph per method. The reader walks ``forward``'s
graph:

- a call of a submodule's method (``prim::CallMethod``) is a layer when the submodule's class is
  a ``torch.nn`` class (its TorchScript type ``__torch__.torch.nn.modules...``): one role node for
  a layer we know (``Conv2d``, ``BatchNorm2d``: its facts read from a stand-in built from the
  submodule's own attributes and tensors), one opaque node for any other
  (``TransformerEncoderLayer``), as torch.fx keeps them; any other submodule (the user's own
  classes, whatever their names) is code to walk into, with its path as the prefix;
- an ``aten::`` call, or a call of a ``torch.nn.functional`` function (``prim::CallFunction``:
  ``F.relu``, ``F.softmax``), is a function node named like the hooks reader names it
  (``layer1.0.add``); a call of the user's own scripted function is one opaque node;
- a ``prim::If`` whose condition is a constant or a module attribute (``if self.pre:``) is read
  down the branch taken; any other is read down both, each output from the same position of
  either branch; a ``prim::Loop``'s body is read once, its carried values in and out;
- tuples and lists pass their elements through, each element on its own where the tuple was
  built in the graph.

Forward hooks and ``__torch_function__`` do not reach TorchScript, and torch.fx cannot trace
it, so this is the only way to read a scripted model.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import torch
from torch import nn

from layerorder.modelgraph.graph import GraphBuilder, RoleGraph, RoleNode
from layerorder.modelgraph.roles import (
    classify_call,
    classify_module,
    module_entry,
    normalise_name,
)

# torch.nn classes by name
NN_CLASSES: dict[str, type[nn.Module]] = {
    name: cls for name, cls in vars(nn).items()
    if isinstance(cls, type) and issubclass(cls, nn.Module)
}
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
NN_TYPE = "__torch__.torch.nn.modules."  # the TorchScript type of a torch.nn layer starts so
TORCH_FUNCTION = "__torch__.torch."  # ... and of a torch function (torch.nn.functional.relu)
BUILD_KINDS = frozenset({"prim::ListConstruct", "prim::TupleConstruct"})
UNPACK_KINDS = frozenset({"prim::ListUnpack", "prim::TupleUnpack"})
PASS_KINDS = frozenset({"prim::unchecked_cast", "prim::NumToTensor", "aten::__getitem__"})

Key = Callable[[Any], Hashable]


def is_script_module(model: Any) -> bool:
    return isinstance(model, torch.jit.ScriptModule)


def nn_class(script: Any) -> type[nn.Module] | None:
    """The ``torch.nn`` class a ScriptModule was scripted from, by its TorchScript type (a user's
    own class named ``LayerNorm`` is not torch's); None for any other class."""
    try:
        name = script._c._type().qualified_name()
    except AttributeError:
        return None
    if not name.startswith(NN_TYPE):
        return None
    cls = NN_CLASSES.get(name.rsplit(".", 1)[-1])
    return None if cls is None or cls in CONTAINERS else cls


def standin(script: Any) -> nn.Module | None:
    """An eager twin of a scripted ``torch.nn`` layer (``Conv2d``, ``ReLU``, ...): built on the
    meta device from the constructor arguments the ScriptModule kept as attributes, then given
    its tensors (so a PReLU's slope is read as trained). None where the class is not in
    ``torch.nn``, or its attributes and tensors do not give it back whole."""
    cls = nn_class(script)
    if cls is None:
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
        twin.load_state_dict(script.state_dict(), assign=True)  # every tensor, or none
        twin.train(script.training)
        return twin if module_entry(twin) is not None else None
    except Exception:  # an attribute that does not round-trip: an opaque torch.nn layer
        return None


def _leaf_specs(script: Any, path: str) -> list[RoleNode] | None | bool:
    """The role nodes of a scripted ``torch.nn`` layer, a leaf as torch.fx keeps it (a layer we
    know by its role, any other, such as ``TransformerEncoderLayer``, as one 'other' node);
    False for a module to walk into (a container, or the user's own class)."""
    cls = nn_class(script)
    if cls is None:
        return False
    twin = standin(script)
    if twin is not None:
        return classify_module(twin, path)
    return [RoleNode("other", cls.__name__.lower(), path, "module", cls.__name__)]


class _Reader:
    def __init__(self) -> None:
        self.builder = GraphBuilder()
        self.scopes = itertools.count()
        self.objects: dict[Hashable, tuple[Any, str]] = {}  # a GetAttr's value -> (obj, path)
        self.items: dict[Hashable, list[Hashable]] = {}  # a built tuple or list -> its elements

    def _walk(self, graph: Any, keys: dict[Any, Hashable], path: str) -> list[Hashable]:
        """Add the calls of ``graph``, a method of the module at ``path``; ``keys`` maps its
        input values to the builder's keys. Returns the keys of its outputs."""
        scope = next(self.scopes)

        def key(value: Any) -> Hashable:
            return keys.get(value.unique(), (scope, value.unique()))

        self._nodes(graph.nodes(), key, path)
        return [key(v) for v in graph.outputs()]

    def _data(self, values: Iterable[Any], key: Key) -> list[Hashable]:
        return [key(v) for v in values if self.builder.has(key(v))]

    def _alias(self, out: Hashable, sources: list[Hashable]) -> None:
        self.builder.add_call(out, None, [k for k in sources if self.builder.has(k)])
        if len(sources) == 1 and sources[0] in self.items:
            self.items[out] = self.items[sources[0]]

    def _nodes(self, nodes: Iterable[Any], key: Key, path: str) -> None:
        for node in nodes:
            kind = node.kind()
            handler = NODE_HANDLERS.get(kind) or (
                _Reader._aten if kind.startswith("aten::") else None)
            if handler is not None:  # anything else (constants, prints) makes no stage
                handler(self, node, key, list(node.outputs()), path)

    def _get_attr(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        owner = self.objects.get(key(node.input()))
        if owner is not None:
            obj, where = owner
            name = node.s("name")
            child = getattr(obj, name, None)
            self.objects[key(outs[0])] = (child, f"{where}.{name}" if where else name)

    def _build(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        self._alias(key(outs[0]), self._data(node.inputs(), key))
        self.items[key(outs[0])] = [key(v) for v in node.inputs()]

    def _pass(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        for out in outs:
            self._alias(key(out), self._data(node.inputs(), key))

    def _aten(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        if outs:
            self._call(node.kind().split("::", 1)[1], list(node.inputs()), key, outs, path)

    def _unpack(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        """Each element from its own source where the tuple or list was built in the graph."""
        source = key(node.inputsAt(0))
        elements = self.items.get(source)
        if node.kind() in UNPACK_KINDS and elements is not None and len(elements) == len(outs):
            for out, element in zip(outs, elements):
                self._alias(key(out), [element])
            return
        if node.kind() != "prim::ListUnpack" and elements is not None:
            index = node.inputsAt(1).toIValue() if node.inputsAt(1).node().kind() == \
                "prim::Constant" else None
            if isinstance(index, int) and -len(elements) <= index < len(elements):
                self._alias(key(outs[0]), [elements[index]])
                return
        for out in outs:  # an op's list (chunk, split): every piece comes from it
            self._alias(key(out), [source])

    def _condition(self, value: Any, key: Key) -> bool | None:
        """A branch condition known without running: a constant, or a module's bool attribute."""
        if value.node().kind() == "prim::Constant":
            known = value.toIValue()
        else:
            known = self.objects.get(key(value), (None, ""))[0]
        return known if isinstance(known, bool) else None

    def _branch(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        blocks = list(node.blocks())
        taken = self._condition(node.inputsAt(0), key)
        if taken is not None:
            blocks = [blocks[0] if taken else blocks[1]]
        for block in blocks:
            self._nodes(block.nodes(), key, path)
        for i, out in enumerate(outs):
            self._alias(key(out), [key(list(b.outputs())[i]) for b in blocks])

    def _loop(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        """A loop's body once: its carried values come in from the loop's inputs (after the trip
        count and the condition) and go out as the loop's outputs."""
        (body,) = node.blocks()
        carried = list(node.inputs())[2:]
        for value, start in zip(list(body.inputs())[1:], carried):
            self._alias(key(value), [key(start)])
        self._nodes(body.nodes(), key, path)
        for out, value in zip(outs, list(body.outputs())[1:]):
            self._alias(key(out), [key(value)])

    def _call_method(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        target = self.objects.get(key(node.inputsAt(0)))
        args = list(node.inputs())[1:]
        if target is None or not outs:
            return
        obj, where = target  # the called module's own path, not the caller's
        name = node.s("name")
        leaf = _leaf_specs(obj, where) if name == "forward" else False
        if leaf is not False:
            self.builder.add_call(key(outs[0]), leaf, self._data(args, key))
            return
        graph = getattr(getattr(obj, name, None), "graph", None)
        if graph is None:
            return
        inner = list(graph.inputs())
        scope = next(self.scopes)
        keys = {inner[0].unique(): (scope, "self")}
        self.objects[(scope, "self")] = (obj, where)
        for value, arg in zip(inner[1:], args):
            keys[value.unique()] = key(arg)
        for out, result in zip(outs, self._walk(graph, keys, where)):
            self._alias(key(out), [result])

    def _call_function(self, node: Any, key: Key, outs: list[Any], path: str) -> None:
        function = node.inputsAt(0)
        qualified = str(function.type())
        name = function.node().s("name") if function.node().hasAttribute("name") else qualified
        name = normalise_name(name)  # F.max_pool2d scripts as _max_pool2d
        args = list(node.inputs())[1:]
        if qualified.startswith(TORCH_FUNCTION):
            self._call(name, args, key, outs, path)
            return
        data = self._data(args, key)  # the user's own function: one opaque stage
        if data and outs:
            spec = RoleNode("other", name.lower(), f"{path}.{name}" if path else name,
                            "function", name)
            self.builder.add_call(key(outs[0]), [spec], data)

    def _call(self, name: str, inputs: list[Any], key: Key, outs: list[Any], path: str) -> None:
        data = self._data(inputs, key)
        if not data or not outs:
            return  # computed from constants and shapes only
        args = tuple(v.toIValue() if v.node().kind() == "prim::Constant" else v for v in inputs)
        specs = classify_call(name, args, {}, f"{path}.{name}" if path else name, len(data))
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


# What each TorchScript node kind adds to the graph (timm's create_act style: a table, not a
# chain); any other ``aten::`` op is a call (``_Reader._aten``). Later entries win: a list's
# ``aten::__getitem__`` is read as an unpack, not passed through.
NODE_HANDLERS: dict[str, Callable[[_Reader, Any, Key, list[Any], str], None]] = {
    **dict.fromkeys(PASS_KINDS, _Reader._pass),
    **dict.fromkeys(UNPACK_KINDS | {"prim::TupleIndex", "aten::__getitem__"}, _Reader._unpack),
    **dict.fromkeys(BUILD_KINDS, _Reader._build),
    "prim::GetAttr": _Reader._get_attr,
    "prim::CallMethod": _Reader._call_method,
    "prim::CallFunction": _Reader._call_function,
    "prim::If": _Reader._branch,
    "prim::Loop": _Reader._loop,
}
