"""Role graph from one forward pass, for models torch.fx cannot trace.

Forward hooks on the leaf modules record each call with its input and output tensors, and a
``TorchFunctionMode`` records the functions called between them (``F.relu``, ``x + y``,
``torch.cat``). Edges come from tensor identity: a call's inputs are linked to the calls that
produced those tensors, so the graph follows the data flow of the run, in execution order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from layerorder.modelgraph.graph import GraphBuilder, RoleGraph
from layerorder.modelgraph.roles import (
    classify_call,
    classify_module,
    is_known_module,
    measure_norms,
    normalise_name,
)


def tensors_in(obj: Any) -> Iterator[torch.Tensor]:
    """Every tensor in a nested structure of tuples, lists and dicts."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from tensors_in(item)


def is_leaf(module: nn.Module) -> bool:
    """The same leaves as the fx tracer: torch.nn modules (not Sequential) and known roles."""
    name = type(module).__module__
    torch_leaf = name.startswith(("torch.nn", "torch.ao.nn")) and not isinstance(
        module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)
    )
    return torch_leaf or is_known_module(module)


class _Recorder(TorchFunctionMode):
    def __init__(self, builder: GraphBuilder):
        super().__init__()
        self.builder = builder
        self.producer: dict[int, str] = {}
        self.keep: list[torch.Tensor] = []  # keeps ids unique while the run lasts
        self.paths: list[str] = []  # enclosing module paths
        self.depth = 0  # > 0 inside a leaf module
        self.count = 0
        self.sizes: dict[str, int] = {}  # elements of each childless module's first output

    def new_key(self) -> str:
        self.count += 1
        return f"c{self.count}"

    def inputs(self, *objs: Any) -> list[str]:
        keys = []
        for obj in objs:
            for t in tensors_in(obj):
                key = self.producer.get(id(t))
                if key is not None and key not in keys:
                    keys.append(key)
        return keys

    def produced(self, key: str, output: Any) -> None:
        for t in tensors_in(output):
            self.producer[id(t)] = key
            self.keep.append(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth:
            return out
        keys = self.inputs(args, kwargs)
        if not keys or next(tensors_in(out), None) is None:
            return out
        name = normalise_name(getattr(func, "__name__", str(func)))
        enclosing = self.paths[-1] if self.paths else ""
        path = f"{enclosing}.{name}" if enclosing else name
        key = self.new_key()
        self.builder.add_call(key, classify_call(name, args, kwargs, path, len(keys)), keys)
        self.produced(key, out)
        return out


def note_output_size(sizes: dict[str, int], path: str, output: Any) -> None:
    """The size a lint reads of a childless module (activation evaluations saved): the elements
    of its first tensor output, kept from its first call."""
    if isinstance(output, torch.Tensor) and path not in sizes:
        sizes[path] = output.numel()


def _install(model: nn.Module, rec: _Recorder) -> list:
    handles = []
    pending: list[list[str] | None] = []

    def make(path: str, leaf: bool, childless: bool):
        def pre(module, args, kwargs):
            if leaf and rec.depth == 0:
                pending.append(rec.inputs(args, kwargs))
            else:
                pending.append(None)
            rec.depth += int(leaf)
            rec.paths.append(path)

        def post(module, args, kwargs, output):
            if childless:
                note_output_size(rec.sizes, path, output)
            rec.paths.pop()
            rec.depth -= int(leaf)
            keys = pending.pop()
            if keys is None or not keys:
                return
            key = rec.new_key()
            rec.builder.add_call(key, classify_module(module, path), keys)
            rec.produced(key, output)

        return pre, post

    for path, module in model.named_modules():
        if not path:
            continue
        pre, post = make(path, is_leaf(module), next(module.children(), None) is None)
        handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(module.register_forward_hook(post, with_kwargs=True, always_call=True))
    return handles


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the duration; every module's own flag is restored afterwards."""
    flags = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags.items():
            m.training = flag


def graph_from_hooks(model: nn.Module, example: torch.Tensor, note: str) -> RoleGraph:
    """Run ``model`` once on ``example`` (eval mode, no grad) and record the role graph, with
    each module node's output size from the same run (``RoleGraph.with_sizes``)."""
    measure_norms(model)
    builder = GraphBuilder()
    rec = _Recorder(builder)
    builder.add_input("input", "input")
    rec.producer[id(example)] = "input"
    rec.keep.append(example)
    handles = _install(model, rec)
    try:
        with torch.no_grad(), eval_mode(model), rec:
            output = model(example)
    finally:
        for h in handles:
            h.remove()
    builder.add_output(rec.inputs(output))
    return builder.build("hooks", note).with_sizes(rec.sizes)
