"""Which role each module class and each function plays, kept as data.

Modules are matched by ``isinstance`` (so subclasses such as timm's ``BatchNormAct2d`` or
``LayerNorm2d`` count), then by class name for a few well-known classes outside ``torch.nn``.
Functions and tensor methods are matched by name, so ``F.relu``, ``torch.relu``, ``x.relu()`` and
``x.relu_()`` all map to ``relu``; ``operator.add``, ``torch.add`` and ``x += y`` to ``add``.
``None`` means transparent: the call passes its input through (Identity, getitem, contiguous).
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import replace
from typing import Any

import torch
import torch.nn.modules.activation as _activation
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.nn.modules.padding import (
    _CircularPadNd,
    _ConstantPadNd,
    _ReflectionPadNd,
    _ReplicationPadNd,
)

from layerorder.activations import (
    FUNCTIONS,
    is_monotone,
    maps_zero_to_zero,
    sign_setting,
)
from layerorder.blocks.registry import ChannelLayerNorm, get_activation
from layerorder.modelgraph.graph import RoleNode
from layerorder.modelgraph.reach import COPY_PAD, ZERO_PAD

TRANSPARENT = "transparent"

# (class, role, kind), first isinstance match wins
MODULE_TABLE: tuple[tuple[type[nn.Module], str, str], ...] = (
    (nn.Identity, TRANSPARENT, ""),
    (_ConvNd, "weight", "conv"),
    (nn.Linear, "weight", "linear"),
    (nn.Bilinear, "weight", "linear"),
    (_InstanceNorm, "norm", "in"),
    (_BatchNorm, "norm", "bn"),
    (nn.GroupNorm, "norm", "gn"),
    (nn.LayerNorm, "norm", "ln"),
    (ChannelLayerNorm, "norm", "ln"),
    (nn.RMSNorm, "norm", "rms"),
    (nn.LocalResponseNorm, "norm", "lrn"),
    (nn.Dropout, "dropout", "drop"),
    (nn.AlphaDropout, "dropout", "drop"),
    (_DropoutNd, "dropout", "dropch"),
    (nn.modules.pooling._MaxPoolNd, "pool", "maxpool"),
    (nn.modules.pooling._AdaptiveMaxPoolNd, "pool", "maxpool"),
    (nn.modules.pooling._AvgPoolNd, "pool", "avgpool"),
    (nn.modules.pooling._AdaptiveAvgPoolNd, "pool", "avgpool"),
    (nn.modules.pooling._LPPoolNd, "pool", "lppool"),
    (nn.Flatten, "reshape", "flatten"),
    (nn.Unflatten, "reshape", "unflatten"),
)

# activation modules: torch.nn.modules.activation, minus the ones that are not element-wise
NOT_ACTIVATIONS = frozenset(
    {"MultiheadAttention", "Softmax", "Softmin", "Softmax2d", "LogSoftmax", "GLU"}
)
ACT_CLASSES: tuple[type[nn.Module], ...] = tuple(
    getattr(_activation, name) for name in _activation.__all__ if name not in NOT_ACTIVATIONS
)

# well-known classes outside torch.nn, by lower-cased class name
NAME_TABLE: dict[str, tuple[str, str]] = {
    "frozenbatchnorm2d": ("norm", "bn"),  # torchvision.ops
    "droppath": ("dropout", "droppath"),  # timm
    "stochasticdepth": ("dropout", "droppath"),  # torchvision.ops
    "swish": ("act", "silu"),
    "gelutanh": ("act", "gelu"),
    "quickgelu": ("act", "gelu"),
    "hardswishme": ("act", "hardswish"),
    "hardsigmoidme": ("act", "hardsigmoid"),
    "mishme": ("act", "mish"),
    # Hugging Face transformers: GPT-2's Conv1D is a linear layer stored transposed
    # (y = x @ W + b, W of shape in x out), and the activation classes of transformers.activations
    "conv1d": ("weight", "linear"),
    "geluactivation": ("act", "gelu"),
    "newgeluactivation": ("act", "gelu"),
    "fastgeluactivation": ("act", "gelu"),
    "quickgeluactivation": ("act", "gelu"),
    "accurategeluactivation": ("act", "gelu"),
    "clippedgeluactivation": ("act", "gelu"),
    "pytorchgelutanh": ("act", "gelu"),
    "siluactivation": ("act", "silu"),
    "mishactivation": ("act", "mish"),
    "relusquaredactivation": ("act", "relu2"),
    "laplaceactivation": ("act", "laplace"),
    "sqrtsoftplusactivation": ("act", "sqrtsoftplus"),
    "xieluactivation": ("act", "xielu"),
    "linearactivation": (TRANSPARENT, ""),
}
# names of NAME_TABLE that are one library's class, not a common name: read only from there
# (a user's own ``Conv1D``, which may well convolve, is not taken for GPT-2's transposed linear)
NAME_OWNERS: dict[str, str] = {"conv1d": "transformers"}

_RESHAPES = (
    "flatten unflatten view reshape permute transpose squeeze unsqueeze movedim view_as"
    " expand expand_as chunk split t swapaxes"
)
FUNCTION_TABLE: dict[str, tuple[str, str]] = {
    **{f"conv{d}d": ("weight", "conv") for d in (1, 2, 3)},
    **{f"conv_transpose{d}d": ("weight", "conv") for d in (1, 2, 3)},
    "linear": ("weight", "linear"),
    "batch_norm": ("norm", "bn"),
    "instance_norm": ("norm", "in"),
    "group_norm": ("norm", "gn"),
    "layer_norm": ("norm", "ln"),
    "rms_norm": ("norm", "rms"),
    **{name: ("act", token) for name, token in FUNCTIONS.items()},
    "dropout": ("dropout", "drop"),
    "alpha_dropout": ("dropout", "drop"),
    **{f"dropout{d}d": ("dropout", "dropch") for d in (1, 2, 3)},
    "feature_alpha_dropout": ("dropout", "dropch"),
    **{f"max_pool{d}d": ("pool", "maxpool") for d in (1, 2, 3)},
    **{f"max_pool{d}d_with_indices": ("pool", "maxpool") for d in (1, 2, 3)},
    **{f"adaptive_max_pool{d}d": ("pool", "maxpool") for d in (1, 2, 3)},
    **{f"avg_pool{d}d": ("pool", "avgpool") for d in (1, 2, 3)},
    **{f"adaptive_avg_pool{d}d": ("pool", "avgpool") for d in (1, 2, 3)},
    "add": ("add", "add"),
    "iadd": ("add", "add"),
    "radd": ("add", "add"),
    "cat": ("concat", "cat"),
    "concat": ("concat", "cat"),
    "concatenate": ("concat", "cat"),
    "stack": ("concat", "stack"),
    **{name: ("reshape", name) for name in _RESHAPES.split()},
    **{name: (TRANSPARENT, "") for name in "getitem contiguous clone detach to float type".split()},
    # affine in the data: linear "other" nodes (two data inputs make mul/div non-linear)
    **{name: ("other", name) for name in "mul imul rmul div truediv sub isub rsub neg".split()},
    "mean": ("other", "mean"),
    "sum": ("other", "sum"),
    "pad": ("other", "pad"),
}
LINEAR_OTHER = frozenset(
    {"scale", "sub", "isub", "rsub", "neg", "mean", "sum", "pad", ZERO_PAD, COPY_PAD, "div",
     "truediv"}
)
SCALE_OPS = frozenset({"add", "iadd", "radd", "mul", "imul", "rmul", "div", "truediv", "sub"})

# calls that read metadata, not data (fx only: in eager mode they return no tensors)
META_CALLS = frozenset({"size", "dim", "numel", "getattr", "len", "ndimension", "stride"})

PLAIN_TYPES = frozenset(
    {
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.Linear,
        nn.BatchNorm1d,
        nn.BatchNorm2d,
        nn.BatchNorm3d,
    }
)


def normalise_name(name: str) -> str:
    """``__iadd__`` -> ``iadd``, ``relu_`` -> ``relu``: dunder and in-place spellings collapse;
    an ATen overload (``conv2d.default``, ``add.Tensor``: a ``torch.export`` program's calls)
    is its operator's name."""
    return name.split(".", 1)[0].strip("_")


def module_entry(module: nn.Module) -> tuple[str, str] | None:
    """(role, kind) for a module class we know, or None; a class we do not know that computes
    a norm over the last dimension (``LlamaRMSNorm``, ``T5LayerNorm``, a hand-written
    LayerNorm) is found by what it computes (``norm_by_behaviour``)."""
    for cls, role, kind in MODULE_TABLE:
        if isinstance(module, cls):
            return role, kind
    if isinstance(module, ACT_CLASSES):
        return "act", get_activation(type(module)).name
    name = type(module).__name__.lower()
    entry = NAME_TABLE.get(name)
    owner = NAME_OWNERS.get(name)
    if entry is not None and (owner is None or type(module).__module__.split(".")[0] == owner):
        return entry
    kind = norm_by_behaviour(module)
    return ("norm", kind) if kind else None


# module -> the norm kind it was found to compute ('' for none): each module is run once
_BEHAVIOUR: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()


def measure_norms(model: nn.Module) -> None:
    """Run ``norm_by_behaviour`` on every module of ``model`` now: it runs modules, so it must
    not happen inside a trace or a recorded run (``trace_module`` and ``graph_from_hooks`` call
    this first, and their look-ups then read the cache)."""
    for module in model.modules():
        module_entry(module)


def _per_channel_affine(normed: torch.Tensor, out: torch.Tensor, shift: bool,
                        rtol: float) -> bool:
    """Whether ``out = normed * a + b`` for one (a, b) per channel (b = 0 unless ``shift``):
    a least-squares fit per channel over the rows, then the residual checked to ``rtol``."""
    z, y = normed.reshape(-1, normed.shape[-1]), out.reshape(-1, out.shape[-1])
    if shift:
        zc, yc = z - z.mean(0), y - y.mean(0)
        a = (zc * yc).sum(0) / (zc * zc).sum(0)
        fit = (z - z.mean(0)) * a + y.mean(0)
    else:
        fit = z * (z * y).sum(0) / (z * z).sum(0)
    return bool(torch.allclose(fit, y, rtol=rtol, atol=rtol * 0.1 * float(y.abs().max()) + 1e-6))


def norm_by_behaviour(module: nn.Module) -> str:
    """``'rms'`` for a module computing x * rsqrt(mean(x^2) + eps) * w over the last dimension
    (with w, 1 + w or any per-channel scale), ``'ln'`` for (x - mean) / std * w + b, ``''``
    for anything else. Only a leaf whose parameters are one 1-D ``weight`` (and a ``bias`` of
    the same size) is tried: it is run once, without gradients, on a seeded input of shape
    (2, 8, d) whose rows have a mean and a scale of their own, and the output is compared with
    both formulas (per-channel scale fitted, so the check does not depend on the weights)."""
    cached = _BEHAVIOUR.get(module)
    if cached is not None:
        return cached
    params = dict(module.named_parameters(recurse=False))
    weight = params.get("weight")
    kind = ""
    if (
        next(module.children(), None) is None
        and weight is not None
        and weight.dim() == 1
        and set(params) <= {"weight", "bias"}
        and ("bias" not in params or params["bias"].shape == weight.shape)
        and weight.is_floating_point()
        and weight.device.type != "meta"
    ):
        kind = _measured_norm(module, weight)
    _BEHAVIOUR[module] = kind
    return kind


MAX_MEASURED = 1 << 20  # channels: a wider 1-D weight is not a norm worth running to find out


def _measured_norm(module: nn.Module, weight: torch.Tensor) -> str:
    """Run ``module`` once, as it would run at inference and leaving it as it was: in eval mode,
    its buffers restored, its forward called directly (so no forward hook fires)."""
    d = weight.numel()
    if d > MAX_MEASURED:
        return ""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, d, generator=generator) * torch.rand(2, 8, 1, generator=generator) * 3
    x = (x + torch.randn(2, 8, 1, generator=generator)).to(weight.dtype).to(weight.device)
    training = module.training
    buffers = {name: b.clone() for name, b in module.named_buffers(recurse=False)}
    try:
        module.eval()
        with torch.no_grad():
            out = module.forward(x)
    except Exception:  # not a module of one tensor: not a norm of this shape
        return ""
    finally:
        module.train(training)
        with torch.no_grad():
            for name, saved in buffers.items():
                getattr(module, name).copy_(saved)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        return ""
    # rounding in the module's own precision (bfloat16: 2^-8, a half-precision variance
    # worse) bounds how close it can come
    rtol = max(1e-3, 16 * torch.finfo(weight.dtype).eps)
    x, out = x.double().cpu(), out.double().cpu()
    rms = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
    if _per_channel_affine(rms, out, shift=False, rtol=rtol):
        return "rms"
    centred = x - x.mean(-1, keepdim=True)
    standard = centred * torch.rsqrt(centred.pow(2).mean(-1, keepdim=True) + 1e-5)
    return "ln" if _per_channel_affine(standard, out, shift=True, rtol=rtol) else ""


def is_known_module(module: nn.Module) -> bool:
    return module_entry(module) is not None


def _padding_is_zeros(module: nn.Module) -> bool:
    if not isinstance(module, _ConvNd) or module.padding_mode != "zeros":
        return False
    if isinstance(module.padding, str):
        return module.padding == "same" and any(k > 1 for k in module.kernel_size)
    return any(p > 0 for p in module.padding)


def _weight_facts(module: nn.Module) -> dict[str, Any]:
    bias = getattr(module, "bias", None)
    facts: dict[str, Any] = {
        "bias": bias is not None,
        "bias_params": int(bias.numel()) if bias is not None else 0,
        "zero_padding": _padding_is_zeros(module),
        "linear": True,
    }
    if isinstance(module, _ConvNd):
        facts.update(
            in_channels=module.in_channels, out_channels=module.out_channels, groups=module.groups
        )
    elif isinstance(module, nn.Linear):
        facts.update(in_channels=module.in_features, out_channels=module.out_features)
    elif isinstance(getattr(module, "weight", None), torch.Tensor) and module.weight.dim() == 2:
        # HF Conv1D keeps its weight as (in, out)
        facts.update(in_channels=module.weight.shape[0], out_channels=module.weight.shape[1])
    return facts


def _norm_facts(module: nn.Module, kind: str) -> dict[str, Any]:
    channels = getattr(module, "num_features", None) or getattr(module, "num_channels", None)
    if channels is None and isinstance(module, nn.LayerNorm):
        channels = module.normalized_shape[-1]
    weight = getattr(module, "weight", None)
    if channels is None and isinstance(weight, torch.Tensor) and weight.dim() == 1:
        channels = weight.numel()
    running = getattr(module, "running_mean", None) is not None
    return {
        "in_channels": channels,
        "out_channels": channels,
        "running_stats": kind == "bn" and running,
        "linear": kind == "bn",
    }


def _module_facts(module: nn.Module, role: str, kind: str) -> dict[str, Any]:
    if role == "weight":
        return _weight_facts(module)
    if role == "norm":
        return _norm_facts(module, kind)
    if role == "dropout":
        return {"p": float(getattr(module, "p", getattr(module, "drop_prob", 0.0)) or 0.0)}
    if role == "pool":
        return {"linear": kind == "avgpool", "shrink": _pool_shrink(module),
                "indices": bool(getattr(module, "return_indices", False))}
    if role == "act":
        return {"monotone": _monotone(module, kind), "zero": _zero(module, kind)}
    return {"linear": role == "reshape"}


def _pool_shrink(module: nn.Module) -> int | None:
    """Input elements per output element of a fixed-window pool (None for adaptive pools)."""
    stride = getattr(module, "stride", None)
    if stride is None:
        return None
    dims = int(type(module).__name__[-2]) if type(module).__name__[-2:-1].isdigit() else 1
    strides = stride if isinstance(stride, (tuple, list)) else (stride,) * dims
    return math.prod(int(x) for x in strides)


def _zero(module: nn.Module, kind: str) -> bool:
    """Maps 0 to 0 (``activations.maps_zero_to_zero``), where the module's settings keep it so
    (a Hardtanh whose range holds 0, a Threshold that replaces 0 by 0)."""
    keeps_zero = None
    if isinstance(module, nn.Hardtanh):  # ReLU6 included
        keeps_zero = module.min_val <= 0 <= module.max_val
    elif isinstance(module, nn.Threshold):
        keeps_zero = module.threshold < 0 or module.value == 0
    return maps_zero_to_zero(kind, keeps_zero)


def _monotone(module: nn.Module, kind: str) -> bool:
    """Non-decreasing for every input (``activations.is_monotone``), with the slope of the
    negative side read from the module itself: its ``sign`` setting (LeakyReLU's slope, ELU's
    alpha), PReLU's weights (checked now), RReLU's bounds, a Threshold's step."""
    setting = sign_setting(kind)
    slope = None
    if setting is not None:
        value = getattr(module, setting[0], None)  # a module that lacks it: not read
        slope = float(value) if _numbers(value) else None
    elif isinstance(module, nn.PReLU):
        slope = float(module.weight.detach().min())
    elif isinstance(module, nn.Threshold):
        slope = float(module.threshold - module.value)
    elif isinstance(module, nn.RReLU):
        slope = float(min(module.lower, module.upper))
    return is_monotone(kind, slope)


def _fused_parts(module: nn.Module, path: str) -> list[RoleNode]:
    """The dropout and activation inside a fused norm+act module (timm ``BatchNormAct2d``)."""
    parts = []
    for attr in ("drop", "act"):
        child = getattr(module, attr, None)
        if isinstance(child, nn.Module):
            parts.extend(classify_module(child, f"{path}.{attr}") or [])
    return [replace(p, fused=path) for p in parts]


def classify_module(module: nn.Module, path: str) -> list[RoleNode] | None:
    """Role nodes for one module call: one, several for a fused norm+act, None if transparent."""
    entry = module_entry(module)
    type_name = type(module).__name__
    if isinstance(module, _ConstantPadNd) and module.value == 0:  # nn.ZeroPad2d included
        return [RoleNode("other", ZERO_PAD, path, "module", type_name, linear=True)]
    if isinstance(module, COPY_PAD_MODULES):
        return [RoleNode("other", COPY_PAD, path, "module", type_name, linear=True)]
    if entry is None:
        return [RoleNode("other", type_name.lower(), path, "module", type_name)]
    role, kind = entry
    if role == TRANSPARENT:
        return None
    facts = _module_facts(module, role, kind)
    if role == "dropout" and not facts["p"]:
        return None  # p == 0: an identity
    node = RoleNode(
        role, kind, path, "module", type_name, plain=type(module) in PLAIN_TYPES, **facts
    )
    if role == "norm":
        parts = _fused_parts(module, path)
        if parts:
            return [replace(node, fused=path, plain=False), *parts]
    return [node]


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _call_shrink(name: str, args: tuple, kwargs: dict) -> int | None:
    """``F.max_pool2d(x, kernel, stride)``: the product of the strides, when they are numbers."""
    match = re.search(r"pool(\d)d", name)
    if match is None or name.startswith("adaptive"):
        return None
    kernel = _arg(args, kwargs, 1, "kernel_size")
    stride = _arg(args, kwargs, 2, "stride") or kernel
    if isinstance(stride, int):
        return stride ** int(match.group(1))
    if isinstance(stride, (tuple, list)) and all(isinstance(x, int) for x in stride):
        return math.prod(stride)
    return None


def _numbers(*values: Any) -> bool:
    """Whether each value is a plain number (not a bool, a tensor or an fx graph node)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _call_act_facts(kind: str, args: tuple, kwargs: dict) -> dict[str, bool]:
    """An activation call's facts from its arguments where they are numbers or, in hooks mode,
    tensors: the ``sign`` setting (``F.leaky_relu``'s slope, ``F.elu``'s alpha), ``F.rrelu``'s
    bounds, ``F.prelu``'s weight, ``F.hardtanh``'s range and ``F.threshold``'s step (the defaults
    are torch's, for an argument left out). Under fx tracing a tensor argument is read where it
    is the module's own attribute (``trace._attribute``), not where it is computed; a weight on
    the meta device has no values to read."""
    setting = sign_setting(kind)
    slope = keeps_zero = None
    if setting is not None:
        value = _arg(args, kwargs, 1, *setting)
        slope = float(value) if _numbers(value) else None
    elif kind == "rrelu":
        bounds = (_arg(args, kwargs, 1, "lower", 1 / 8), _arg(args, kwargs, 2, "upper", 1 / 3))
        slope = float(min(bounds)) if _numbers(*bounds) else None
    elif kind == "prelu":
        weight = _arg(args, kwargs, 1, "weight")
        if isinstance(weight, torch.Tensor) and weight.numel() and weight.device.type != "meta":
            slope = float(weight.detach().min())
    elif kind == "hardtanh":
        low, high = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
        keeps_zero = low <= 0 <= high if _numbers(low, high) else None
    elif kind == "threshold":  # F.threshold(x, threshold, value): both given
        at, value = _arg(args, kwargs, 1, "threshold"), _arg(args, kwargs, 2, "value")
        if _numbers(at, value):
            slope, keeps_zero = float(at - value), at < 0 or value == 0
    return {"monotone": is_monotone(kind, slope), "zero": maps_zero_to_zero(kind, keeps_zero)}


def _returns_indices(short: str, args: tuple, kwargs: dict) -> bool:
    """A max-pool call that also returns its argmax: a ``*_with_indices`` call, or
    ``return_indices`` set (the 7th argument of ``F.max_pool2d``, the 3rd of an adaptive one).
    Whether the argmax is then read, a traced graph tells (``trace._argmax_read``)."""
    if short.endswith("_with_indices"):
        return True
    position = 2 if short.startswith("adaptive") else 6
    return bool(_arg(args, kwargs, position, "return_indices", False))


COPY_PAD_MODULES = (_ReflectionPadNd, _ReplicationPadNd, _CircularPadNd)
COPY_PAD_MODES = frozenset({"reflect", "replicate", "circular"})  # F.pad's modes that copy


def _pads_with_zeros(args: tuple, kwargs: dict) -> bool:
    """``F.pad(x, pad, mode="constant", value=None)``: constant mode with no value or 0."""
    value = _arg(args, kwargs, 3, "value")
    return _arg(args, kwargs, 2, "mode", "constant") == "constant" and (
        value is None or (_numbers(value) and value == 0))


def classify_call(
    name: str, args: tuple, kwargs: dict, path: str, n_data: int
) -> list[RoleNode] | None:
    """Role nodes for a function or tensor-method call with ``n_data`` data inputs."""
    short = normalise_name(name)
    role, kind = FUNCTION_TABLE.get(short, ("other", short))
    if role == TRANSPARENT:
        return None
    facts: dict[str, Any] = {}
    if short in SCALE_OPS and n_data < 2:
        role, kind = "other", "scale"
    elif short == "pad" and _pads_with_zeros(args, kwargs):
        kind = ZERO_PAD
    elif short == "pad" and _arg(args, kwargs, 2, "mode") in COPY_PAD_MODES:
        kind = COPY_PAD
    elif short in ("mul", "imul", "rmul", "div", "truediv") and n_data >= 2:
        kind = "mul"
    if role == "weight":
        facts = {"bias": _arg(args, kwargs, 2, "bias") is not None, "linear": True}
    elif role == "dropout":
        facts = {"p": float(_arg(args, kwargs, 1, "p", 0.5))}
        if not facts["p"]:
            return None
    elif role == "norm":
        facts = {"linear": kind == "bn"}
    elif role == "pool":
        facts = {"linear": kind == "avgpool", "shrink": _call_shrink(short, args, kwargs),
                 "indices": _returns_indices(short, args, kwargs)}
    elif role == "act":
        facts = _call_act_facts(kind, args, kwargs)
    elif role in ("add", "concat", "reshape"):
        facts = {"linear": True}
    elif role == "other":
        facts = {"linear": kind in LINEAR_OTHER}
    return [RoleNode(role, kind, path, "function", short, **facts)]
