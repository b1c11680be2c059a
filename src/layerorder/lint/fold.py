"""``fold_model``: fold every foldable BatchNorm into its weight layer (eval mode) and verify.

The arithmetic runs in float64: with s = gamma / sqrt(var + eps) and t = beta - mean * s,
folding into the layer before scales its output channels (W' = s W, b' = s b + t), folding into
the layer after scales its input channels (W' = W s, b' = b + W t). The folded BatchNorm becomes
``nn.Identity`` (a fused norm+act module keeps its dropout and activation).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch
from torch import nn

from layerorder.lint.foldplan import FoldPlan, fold_plans
from layerorder.modelgraph.build import build_role_graph, run_model
from layerorder.modelgraph.errors import LintError
from layerorder.modelgraph.graph import RoleGraph
from layerorder.modelgraph.hooks import tensors_in

DEFAULT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class FoldResult:
    model: nn.Module  # a folded copy, in eval mode; the original is untouched
    folded: tuple[FoldPlan, ...]
    not_folded: tuple[FoldPlan, ...]
    max_abs_diff: float  # between the original and the folded model on the check input
    tolerance: float
    mode: str


def _scale_shift(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    mean = bn.running_mean.double()
    var = bn.running_var.double()
    gamma = bn.weight.double() if getattr(bn, "weight", None) is not None else torch.ones_like(var)
    beta = bn.bias.double() if getattr(bn, "bias", None) is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    return scale, beta - mean * scale


def _set_params(layer: nn.Module, weight: torch.Tensor, bias: torch.Tensor) -> None:
    dtype = layer.weight.dtype
    layer.weight.data = weight.to(dtype)
    if layer.bias is None:
        layer.bias = nn.Parameter(bias.to(dtype))
    else:
        layer.bias.data = bias.to(dtype)


def _bias64(layer: nn.Module) -> torch.Tensor:
    if layer.bias is None:
        return torch.zeros(layer.weight.shape[0], dtype=torch.float64)
    return layer.bias.double()


def _fold_before(layer: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
    w = layer.weight.double()
    shape = (-1,) + (1,) * (w.dim() - 1)
    _set_params(layer, w * scale.view(shape), _bias64(layer) * scale + shift)


def _fold_after(layer: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
    w = layer.weight.double()
    groups = getattr(layer, "groups", 1)
    out_ch, in_per_group = w.shape[0], w.shape[1]
    s = scale.view(groups, in_per_group).repeat_interleave(out_ch // groups, dim=0)
    t = shift.view(groups, in_per_group).repeat_interleave(out_ch // groups, dim=0)
    shape = (out_ch, in_per_group) + (1,) * (w.dim() - 2)
    bias = _bias64(layer) + (w * t.view(shape)).flatten(1).sum(dim=1)
    _set_params(layer, w * s.view(shape), bias)


def _replace(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, name, new)


def _rest_of_fused(bn: nn.Module) -> nn.Module:
    parts = [getattr(bn, a, None) for a in ("drop", "act")]
    parts = [p for p in parts if isinstance(p, nn.Module) and not isinstance(p, nn.Identity)]
    return nn.Sequential(*parts) if parts else nn.Identity()


@torch.no_grad()
def _apply(root: nn.Module, graph: RoleGraph, plan: FoldPlan) -> None:
    bn_node, w_node = graph.nodes[plan.norm_index], graph.nodes[plan.weight_index]
    bn = root.get_submodule(bn_node.path)
    layer = root.get_submodule(w_node.path)
    scale, shift = _scale_shift(bn)
    (_fold_before if plan.into == "previous" else _fold_after)(layer, scale, shift)
    _replace(root, bn_node.path, _rest_of_fused(bn) if bn_node.fused else nn.Identity())


def _record_ndims(model: nn.Module, paths: set[str]) -> tuple[dict[str, int], list]:
    ndims: dict[str, int] = {}
    handles = []
    for path in paths:

        def pre(module, args, path=path):
            first = next(tensors_in(args), None)
            if first is not None:
                ndims[path] = first.dim()

        handles.append(model.get_submodule(path).register_forward_pre_hook(pre))
    return ndims, handles


def _ndim_problem(graph: RoleGraph, plan: FoldPlan, ndims: dict[str, int]) -> str:
    bn, weight = graph.nodes[plan.norm_index], graph.nodes[plan.weight_index]
    ndim = ndims.get(bn.path)
    if weight.kind == "linear" and ndim is not None and ndim != 2:
        return (
            f"BatchNorm normalises dim 1 of a {ndim}-d tensor, {weight.label} mixes the last dim;"
            " folding would not be exact"
        )
    return ""


def _max_diff(a, b) -> tuple[float, float]:
    diff, scale = 0.0, 1.0
    for x, y in zip(tensors_in(a), tensors_in(b)):
        diff = max(diff, float((x.double() - y.double()).abs().max()))
        scale = max(scale, float(x.abs().max()))
    return diff, scale


def fold_model(
    model: nn.Module,
    example: torch.Tensor,
    *,
    mode: str = "auto",
    tolerance: float = DEFAULT_TOLERANCE,
    target: str = "model",
) -> FoldResult:
    """Fold every foldable BN of a copy of ``model``; check outputs agree within ``tolerance``.

    The tolerance is absolute for outputs up to 1 in size and relative beyond that.
    """
    graph = build_role_graph(model, example=example, mode=mode, name=target)
    plans = fold_plans(graph)
    folded_model = copy.deepcopy(model).eval()
    paths = {graph.nodes[p.norm_index].path for p in plans if p.foldable}
    ndims, handles = _record_ndims(model, paths)
    try:
        reference = run_model(model, example, target)
    finally:
        for h in handles:
            h.remove()
    done, skipped = [], []
    for plan in plans:
        problem = _ndim_problem(graph, plan, ndims) if plan.foldable else ""
        if not plan.foldable or problem:
            skipped.append(replace(plan, into=None, weight=None, reason=problem or plan.reason))
            continue
        _apply(folded_model, graph, plan)
        done.append(plan)
    result = run_model(folded_model, example, f"the folded {target}")
    diff, scale = _max_diff(reference, result)
    if diff > tolerance * scale:
        raise LintError(
            f"folding changed the output of {target} by {diff:.3g} (tolerance {tolerance:g}"
            f" x {scale:.3g}); please report this model"
        )
    return FoldResult(folded_model, tuple(done), tuple(skipped), diff, tolerance, graph.mode)
