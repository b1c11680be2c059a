"""Stack K copies of one architecture into one wide model that trains them all at once.

Replica k owns channels [k*C, (k+1)*C) of every feature map. Convolutions become grouped
convolutions (groups x K), linear layers become batched linear layers, and BatchNorm over K*C
channels is per-model BN exactly (the channels are disjoint). Element-wise layers and pooling are
shared as they are. Dropout draws each replica's mask from that run's own random stream, in the
same order and shape as a run trained alone, so masks are identical to sequential training.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from layerorder.blocks.dropout import Dropout
from layerorder.errors import LayerorderError


class StackingError(LayerorderError, ValueError):
    """A model that cannot be stacked; the reason names the layer."""


class BatchedLinear(nn.Module):
    """K independent linear layers on (B, K*in) inputs, giving (B, K*out)."""

    def __init__(self, linears: list[nn.Linear]):
        super().__init__()
        self.k = len(linears)
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]))
        has_bias = linears[0].bias is not None
        self.bias = (
            nn.Parameter(torch.stack([m.bias.detach() for m in linears])) if has_bias else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        out = torch.einsum("bki,koi->bko", x.reshape(b, self.k, -1), self.weight)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(b, -1)


def _get_state(cuda: bool) -> torch.Tensor:
    return torch.cuda.get_rng_state() if cuda else torch.get_rng_state()


def _set_state(state: torch.Tensor, cuda: bool) -> None:
    if cuda:
        torch.cuda.set_rng_state(state)
    else:
        torch.set_rng_state(state)


class StackedDropout(nn.Module):
    """Dropout whose mask for replica k comes from run k's own random stream.

    Element dropout on the CPU draws replica k's mask from ``fast[k]``, the ``DropoutStream`` that
    run k's model had attached. Otherwise (channel dropout, other devices) ``streams`` holds, per
    replica, the state of the generator dropout draws from on the tensor's device (the CPU
    generator, or the current CUDA device's), swapped in around that replica's draw; it is shared
    by every StackedDropout of one stacked model.
    """

    def __init__(self, p: float, k: int, channelwise: bool, streams: list, fast=None):
        super().__init__()
        self.p, self.k, self.channelwise, self.streams = p, k, channelwise, streams
        self.fast = fast if fast and all(s is not None for s in fast) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.fast is not None and not self.channelwise and x.device.type == "cpu":
            shape = (x.shape[0], x.shape[1] // self.k, *x.shape[2:])
            masks = [s.mask(shape, self.p, x.dtype) for s in self.fast]
            return x * torch.cat(masks, dim=1)
        outs = []
        for k, chunk in enumerate(x.chunk(self.k, dim=1)):
            _set_state(self.streams[k], x.is_cuda)
            # the layout a run alone would have (NHWC on CUDA): CUDA dropout draws in memory order
            chunk = chunk.contiguous(memory_format=x.suggest_memory_format())
            if self.channelwise:
                fn = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}[chunk.dim()]
                outs.append(fn(chunk, self.p, True))
            else:
                outs.append(F.dropout(chunk, self.p, True))
            self.streams[k] = _get_state(x.is_cuda)
        return torch.cat(outs, dim=1)


SHARED = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.SELU,
    nn.Tanh,
    nn.Sigmoid,
    nn.Mish,
    nn.ReLU6,
    nn.Softplus,
    nn.Hardswish,
    nn.Identity,
    nn.Flatten,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
)
BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
IN = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _cat(tensors) -> torch.Tensor | None:
    if tensors[0] is None:
        return None
    return torch.cat([t.detach() for t in tensors])


def _stack_conv(mods) -> nn.Module:
    m0, k = mods[0], len(mods)
    new = type(m0)(
        m0.in_channels * k,
        m0.out_channels * k,
        m0.kernel_size,
        stride=m0.stride,
        padding=m0.padding,
        dilation=m0.dilation,
        groups=m0.groups * k,
        bias=m0.bias is not None,
        padding_mode=m0.padding_mode,
    )
    with torch.no_grad():
        new.weight.copy_(_cat([m.weight for m in mods]))
        if m0.bias is not None:
            new.bias.copy_(_cat([m.bias for m in mods]))
    return new


def _stack_norm(mods) -> nn.Module:
    m0, k = mods[0], len(mods)
    if isinstance(m0, nn.GroupNorm):
        new = nn.GroupNorm(m0.num_groups * k, m0.num_channels * k, eps=m0.eps, affine=m0.affine)
    else:
        new = type(m0)(
            m0.num_features * k,
            eps=m0.eps,
            momentum=m0.momentum,
            affine=m0.affine,
            track_running_stats=m0.track_running_stats,
        )
    with torch.no_grad():
        for name, _ in list(new.named_parameters()) + list(new.named_buffers()):
            parts = [getattr(m, name) for m in mods]
            if name == "num_batches_tracked":
                getattr(new, name).copy_(parts[0])
            elif parts[0] is not None:
                getattr(new, name).copy_(_cat(parts))
    return new


def _stack_leaf(path: str, mods: list[nn.Module], streams: list) -> nn.Module:
    m0 = mods[0]
    if isinstance(m0, CONV):
        return _stack_conv(mods)
    if isinstance(m0, nn.Linear):
        return BatchedLinear(mods)
    if isinstance(m0, BN + IN) or isinstance(m0, nn.GroupNorm):
        return _stack_norm(mods)
    if isinstance(m0, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)):
        channelwise = not isinstance(m0, nn.Dropout)
        fast = [m.stream for m in mods] if isinstance(m0, Dropout) else None
        return StackedDropout(m0.p, len(mods), channelwise, streams, fast)
    if isinstance(m0, SHARED):
        return copy.deepcopy(m0)
    if type(m0).__name__ == "Reshape":
        return nn.Identity()  # inputs arrive already shaped, replicas side by side
    raise StackingError(f"stacking does not support {type(m0).__name__} (at '{path}')")


def stack_models(models: list[nn.Module], streams: list) -> nn.Module:
    """One wide model equal to ``models`` side by side (same architecture, separate weights)."""
    wide = copy.deepcopy(models[0])
    leaves = [n for n, m in models[0].named_modules() if next(m.children(), None) is None and n]
    for path in leaves:
        mods = [m.get_submodule(path) for m in models]
        parent_path, _, name = path.rpartition(".")
        parent = wide.get_submodule(parent_path) if parent_path else wide
        setattr(parent, name, _stack_leaf(path, mods, streams))
    return wide


def unstack_into(wide: nn.Module, models: list[nn.Module]) -> None:
    """Copy the wide model's weights and buffers back into the K separate models."""
    k = len(models)
    with torch.no_grad():
        for path, mod in wide.named_modules():
            if not path or next(mod.children(), None) is not None:
                continue
            for name, tensor in list(mod.named_parameters(recurse=False)) + list(
                mod.named_buffers(recurse=False)
            ):
                for i, model in enumerate(models):
                    target = getattr(model.get_submodule(path), name)
                    if name == "num_batches_tracked":
                        target.copy_(tensor)
                    elif isinstance(mod, BatchedLinear):
                        target.copy_(tensor[i])
                    else:
                        target.copy_(tensor.chunk(k)[i])
