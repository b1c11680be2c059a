"""Registries for norm, activation and dropout kinds, by string or by class (timm ``create_act``).

Each entry knows how to build a module for a given number of spatial dimensions (``1``, ``2``,
``3``, or ``"linear"`` for (N, C) inputs) and a channel count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from layerorder.activations import ACTIVATIONS
from layerorder.blocks.dropout import Dropout
from layerorder.errors import BlockError, did_you_mean
from layerorder.order import register_token, tokens

Ndim = int | str  # 1, 2, 3 or "linear"
NDIMS = (1, 2, 3, "linear")


def check_ndim(ndim: Ndim) -> Ndim:
    if ndim not in NDIMS:
        raise BlockError(f"ndim must be 1, 2, 3 or 'linear', got {ndim!r}")
    return ndim


@dataclass(frozen=True)
class ActSpec:
    """An activation kind: its class, default kwargs and the Kaiming-init nonlinearity."""

    name: str
    cls: type[nn.Module]
    kwargs: dict = field(default_factory=dict)
    init: str = "relu"  # nonlinearity name for nn.init.kaiming_normal_

    def build(self, **overrides) -> nn.Module:
        return self.cls(**{**self.kwargs, **overrides})

    def init_args(self, **overrides) -> tuple[str, float]:
        """(nonlinearity, negative slope) for Kaiming initialisation."""
        if self.init == "leaky_relu":
            return "leaky_relu", float({**self.kwargs, **overrides}.get("negative_slope", 0.01))
        return self.init, 0.0


_ACTS: dict[str, ActSpec] = {}


def register_activation(
    name: str, cls: type[nn.Module], *, nonlinearity: str = "relu", kwargs: dict | None = None
) -> None:
    """Register an activation class under a token usable in order specs.

    ``nonlinearity`` names the gain used for Kaiming init (see ``nn.init.calculate_gain``).
    """
    spec = ActSpec(name.lower(), cls, dict(kwargs or {}), nonlinearity)
    _ACTS[spec.name] = spec
    register_token(spec.name, "act")


for _act in ACTIVATIONS:
    if _act.in_specs:
        register_activation(_act.token, getattr(nn, _act.nn_class), nonlinearity=_act.init,
                            kwargs=dict(_act.defaults))


def get_activation(kind: str | type[nn.Module]) -> ActSpec:
    """Look up an activation by token or class."""
    if isinstance(kind, type):
        for spec in _ACTS.values():
            if spec.cls is kind:
                return spec
        return ActSpec(kind.__name__.lower(), kind)
    key = str(kind).lower()
    if key not in _ACTS:
        raise BlockError(f"unknown activation '{kind}'" + did_you_mean(key, _ACTS))
    return _ACTS[key]


def create_act(kind: str | type[nn.Module], **kwargs) -> nn.Module:
    return get_activation(kind).build(**kwargs)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel dimension at every position (ConvNeXt's LayerNorm2d, any ndim)."""

    def __init__(self, num_channels: int, eps: float = 1e-5, elementwise_affine: bool = True):
        super().__init__()
        self.norm = nn.LayerNorm(num_channels, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


def default_groups(channels: int, max_groups: int = 32) -> int:
    """The largest group count <= max_groups that divides the channel count."""
    return next(g for g in range(min(max_groups, channels), 0, -1) if channels % g == 0)


def _batch_norm(ndim: Ndim, channels: int, **kw) -> nn.Module:
    cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d, "linear": nn.BatchNorm1d}[ndim]
    return cls(channels, **kw)


def _instance_norm(ndim: Ndim, channels: int, **kw) -> nn.Module:
    if ndim == "linear":
        raise BlockError(
            "instance norm ('in') needs spatial dimensions; linear blocks cannot use it,"
            " use 'bn', 'gn' or 'ln'"
        )
    cls = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[ndim]
    return cls(channels, **{"affine": True, **kw})


def _group_norm(ndim: Ndim, channels: int, **kw) -> nn.Module:
    groups = kw.pop("num_groups", default_groups(channels))
    if channels % groups:
        raise BlockError(f"group norm: {channels} channels are not divisible by {groups} groups")
    return nn.GroupNorm(groups, channels, **kw)


def _layer_norm(ndim: Ndim, channels: int, **kw) -> nn.Module:
    return nn.LayerNorm(channels, **kw) if ndim == "linear" else ChannelLayerNorm(channels, **kw)


NormFactory = Callable[..., nn.Module]
_NORMS: dict[str, NormFactory] = {
    "bn": _batch_norm,
    "in": _instance_norm,
    "gn": _group_norm,
    "ln": _layer_norm,
}
_NORM_CLASSES: dict[type[nn.Module], str] = {
    nn.BatchNorm1d: "bn",
    nn.BatchNorm2d: "bn",
    nn.BatchNorm3d: "bn",
    nn.InstanceNorm1d: "in",
    nn.InstanceNorm2d: "in",
    nn.InstanceNorm3d: "in",
    nn.GroupNorm: "gn",
    nn.LayerNorm: "ln",
    ChannelLayerNorm: "ln",
}


def norm_kind(kind: str | type[nn.Module]) -> str:
    """Canonical norm token for a token or a norm class."""
    if isinstance(kind, type):
        if kind not in _NORM_CLASSES:
            raise BlockError(f"unknown norm class {kind.__name__}")
        return _NORM_CLASSES[kind]
    key = str(kind).lower()
    if key not in _NORMS:
        raise BlockError(f"unknown norm '{kind}'" + did_you_mean(key, _NORMS))
    return key


def create_norm(kind: str | type[nn.Module], ndim: Ndim, channels: int, **kwargs) -> nn.Module:
    return _NORMS[norm_kind(kind)](check_ndim(ndim), channels, **kwargs)


def create_dropout(kind: str, ndim: Ndim, p: float) -> nn.Module:
    """``drop``: element dropout; ``dropch``: whole channels (Dropout1d/2d/3d)."""
    if not 0.0 <= p < 1.0:
        raise BlockError(f"dropout probability must be in [0, 1), got {p}")
    if kind == "drop" or ndim == "linear":
        return Dropout(p)
    if kind == "dropch":
        return {1: nn.Dropout1d, 2: nn.Dropout2d, 3: nn.Dropout3d}[check_ndim(ndim)](p)
    raise BlockError(f"unknown dropout '{kind}'" + did_you_mean(kind, tokens("dropout")))


_POOLS: dict[str, dict[int, type[nn.Module]]] = {
    "maxpool": {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d},
    "avgpool": {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d},
}


def pool_padding(kernel: int, stride: int) -> int:
    """Overlapping windows (kernel > stride, e.g. ResNet's 3x3 stride 2) pad by (kernel-1)//2,
    as torchvision's ResNet stem does; tiling windows (kernel == stride) do not pad."""
    return (kernel - 1) // 2 if kernel > stride else 0


def create_pool(kind: str, ndim: Ndim, kernel: int = 2, stride: int | None = None) -> nn.Module:
    """``maxpool`` or ``avgpool`` over 1, 2 or 3 spatial dimensions. Average pools divide by
    the number of real (not padded) elements."""
    if kind not in _POOLS:
        raise BlockError(f"unknown pool '{kind}'" + did_you_mean(kind, list(_POOLS)))
    if check_ndim(ndim) == "linear":
        raise BlockError(
            f"a '{kind}' stage needs a convolution block (ndim 1, 2 or 3); linear blocks have"
            " no spatial dimensions to pool: leave it out of the order"
        )
    stride = kernel if stride is None else stride
    padding = pool_padding(kernel, stride)
    cls = _POOLS[kind][ndim]
    if kind == "avgpool":
        return cls(kernel, stride=stride, padding=padding, count_include_pad=False)
    return cls(kernel, stride=stride, padding=padding)


def create_weight(
    ndim: Ndim, in_ch: int, out_ch: int, *, kernel_size, stride, padding, groups, bias: bool
) -> nn.Module:
    if check_ndim(ndim) == "linear":
        if groups != 1:
            raise BlockError("groups applies to convolutions only; linear blocks need groups=1")
        return nn.Linear(in_ch, out_ch, bias=bias)
    cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[ndim]
    if in_ch % groups or out_ch % groups:
        raise BlockError(f"groups={groups} must divide in_ch={in_ch} and out_ch={out_ch}")
    return cls(in_ch, out_ch, kernel_size, stride=stride, padding=padding, groups=groups, bias=bias)
