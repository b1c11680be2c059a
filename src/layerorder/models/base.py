"""What every model shares: input reshaping, the pre-activation tail, the head and the wrapper."""

from __future__ import annotations

import math

import torch
from torch import nn

from layerorder.blocks.registry import BlockError, Ndim, create_act, create_norm
from layerorder.errors import ModelError
from layerorder.order import Order


class Reshape(nn.Module):
    """Reshape each sample to ``shape`` (the batch dimension is kept)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def as_sequence_shape(in_shape: tuple[int, ...]) -> tuple[int, int]:
    """(C, L) view of a sample: images are read row by row as a sequence."""
    if len(in_shape) < 1:
        raise ModelError(f"input shape {in_shape} has no dimensions")
    if len(in_shape) == 1:
        return 1, in_shape[0]
    return in_shape[0], math.prod(in_shape[1:])


def as_image_shape(in_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) view of a sample: a sequence becomes an image of height 1."""
    if len(in_shape) == 1:
        return 1, 1, in_shape[0]
    if len(in_shape) == 2:
        return in_shape[0], 1, in_shape[1]
    if len(in_shape) == 3:
        return tuple(in_shape)  # type: ignore[return-value]
    raise ModelError(f"cnn2d takes (C, L) or (C, H, W) inputs, got shape {in_shape}")


def final_norm_act(
    order: Order, ndim: Ndim, channels: int, enabled: bool = True
) -> nn.Sequential | None:
    """The tail a pre-activation stack needs before the head: its norm and act, applied once more.

    As in PreAct-ResNet: the last block of ``bn-relu-conv`` ends with a raw convolution, so a final
    ``bn-relu`` is added. Returns None for post-activation orders, and when not ``enabled`` (the
    ``final_norm`` setting: the head then reads the last weight layer's raw output).
    """
    if not order.is_preactivation() or not enabled:
        return None
    modules = []
    for stage in order.before_weight():
        if stage.role == "norm" and stage.kind != "none":
            modules.append(create_norm(stage.kind, ndim, channels))
        elif stage.role == "act":
            modules.append(create_act(stage.kind))
    return nn.Sequential(*modules)


class LayerOrderNet(nn.Module):
    """input reshape -> features -> [final norm+act] -> pool/flatten -> linear head."""

    def __init__(
        self,
        *,
        arch: str,
        label: str,
        reshape: nn.Module,
        features: nn.Sequential,
        final: nn.Module | None,
        pool: nn.Module,
        head: nn.Linear,
        note: str = "",
    ):
        super().__init__()
        self.arch, self.label, self.note = arch, label, note
        self.reshape = reshape
        self.features = features
        self.final = final if final is not None else nn.Identity()
        self.pool = pool
        self.head = head

    def extra_repr(self) -> str:
        text = f"arch={self.arch}, order={self.label}"
        return text + (f"\nnote: {self.note}" if self.note else "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.final(self.features(self.reshape(x)))))


def check_positive(name: str, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ModelError(f"{name} must be a positive integer, got {value!r}")


def wrap_block_error(exc: BlockError, arch: str) -> ModelError:
    return ModelError(f"cannot build {arch}: {exc}")


def preact_note(order: Order, final: nn.Module | None) -> str:
    if not order.is_preactivation():
        return ""
    tail = "-".join(s.kind for s in order.before_weight() if s.role in ("norm", "act"))
    if final is None:
        return (
            "pre-activation order without its final norm: the first block starts at its weight"
            f" layer and the head reads the last block's weight layer directly (no final {tail})"
        )
    return (
        f"pre-activation order: the first block starts at its weight layer and a final {tail}"
        " follows the last block (as in PreAct-ResNet)"
    )
