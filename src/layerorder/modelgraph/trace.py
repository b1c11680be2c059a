"""Role graph from a torch.fx symbolic trace.

The tracer keeps every module whose role we know as one leaf (so a fused ``BatchNormAct2d`` or a
``ChannelLayerNorm`` is one call, expanded later), and follows ``node.all_input_nodes``: the data
flow, not the order in which modules were registered. Metadata reads (``x.shape``, ``x.size(0)``)
and values that do not depend on the input (parameters read with ``get_attr``) carry no data.
"""

from __future__ import annotations

import operator
from dataclasses import replace

import torch.fx as fx
from torch import nn

from layerorder.modelgraph.graph import GraphBuilder, RoleGraph
from layerorder.modelgraph.roles import (
    META_CALLS,
    classify_call,
    classify_module,
    is_known_module,
    measure_norms,
    normalise_name,
)


class LintTracer(fx.Tracer):
    """``torch.fx.Tracer`` that also keeps known norm/act/dropout/weight subclasses as leaves."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return super().is_leaf_module(m, module_qualified_name) or is_known_module(m)


def trace_module(model: nn.Module) -> fx.GraphModule:
    """Symbolically trace ``model``; raises whatever torch.fx raises."""
    measure_norms(model)
    tracer = LintTracer()
    graph = tracer.trace(model)
    for node in graph.nodes:
        if isinstance(node.type, str):
            node.type = None  # string annotations (PEP 563) break pickling the generated code
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def call_name(node: fx.Node) -> str:
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def _enclosing_path(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    last = list(stack.values())[-1]
    return str(last[0] if isinstance(last, tuple) else last)


def _is_meta(node: fx.Node) -> bool:
    return node.op in ("call_function", "call_method") and call_name(node) in META_CALLS


def _attribute(root: nn.Module, value):
    """A call's argument with a traced read of the module's own attribute (``self.weight``, a
    ``get_attr`` node) replaced by the attribute itself, so that its value is read as in hooks
    mode (``F.prelu``'s weight); any other argument as it is."""
    if not (isinstance(value, fx.Node) and value.op == "get_attr"):
        return value
    obj = root
    for part in str(value.target).split("."):
        obj = getattr(obj, part, None)
    return value if obj is None else obj


def _argmax_read(node: fx.Node) -> bool:
    """Whether a max-pool's second output, its argmax, is read (``out[1]`` used, or the whole
    tuple passed on): a decomposed ``torch.export`` program calls every max-pool
    ``max_pool2d_with_indices`` and reads only ``[0]``; unpacking both leaves an unused ``[1]``."""
    for user in node.users:
        if user.target is not operator.getitem:
            return True
        if user.args[1] != 0 and user.users:
            return True
    return False


def _classify(node: fx.Node, root: nn.Module, modules: dict[str, nn.Module], n_data: int):
    if node.op == "call_module":
        found = classify_module(modules[str(node.target)], str(node.target))
    else:
        name = normalise_name(call_name(node))
        enclosing = _enclosing_path(node)
        path = f"{enclosing}.{name}" if enclosing else name
        args = tuple(_attribute(root, a) for a in node.args)
        kwargs = {k: _attribute(root, v) for k, v in node.kwargs.items()}
        found = classify_call(name, args, kwargs, path, n_data)
    if found and any(n.indices for n in found) and not _argmax_read(node):
        found = [replace(n, indices=False) for n in found]
    return found


def graph_from_fx(gm: fx.GraphModule, note: str = "") -> RoleGraph:
    """The role graph of a traced module (a GraphModule from ``trace_module`` or a rewrite)."""
    modules = dict(gm.named_modules())
    builder = GraphBuilder()
    data: set[fx.Node] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            builder.add_input(node.name, node.name)
            data.add(node)
            continue
        inputs = [n for n in node.all_input_nodes if n in data]
        if node.op == "output":
            builder.add_output(n.name for n in inputs)
            continue
        if not inputs or _is_meta(node) or node.op == "get_attr":
            continue
        data.add(node)
        builder.add_call(node.name, _classify(node, gm, modules, len(inputs)),
                         [n.name for n in inputs])
    return builder.build("fx", note)
