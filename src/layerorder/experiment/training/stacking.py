"""Stack K copies of one architecture into one wide model that trains them all at once.

Replica k owns channels [k*C, (k+1)*C) of every feature map. Convolutions become grouped
convolutions (groups x K), linear layers become batched linear layers, and BatchNorm over K*C
channels is per-model BN exactly (the channels are disjoint). Element-wise layers and pooling are
shared as they are. Dropout draws each replica's mask from that run's own random stream, in the
same order and shape as a run trained alone, so masks are identical to sequential training.

Two modes (the ``stack_mode`` setting):

- **exact**: each replica's slice of a convolution or linear layer goes through the very call its
  run makes alone, and each replica keeps its own parameter tensors (joined into the wide tensor
  on each forward) so that the optimizer's element-wise kernels round each element as they do for
  the run alone. A stacked model then reproduces its K runs trained alone bit for bit (on the
  CPU, on the same number of threads: tested for every built-in model and preset). Stacking saves
  the per-op overhead of BN, activations, dropout, loss and optimizer, not of the products.
- **batched**: one grouped convolution and one batched matrix product do all replicas at once.
  Convolution libraries round a grouped convolution differently from K plain ones (another
  kernel, another summation order), and training amplifies one-ulp differences, so runs agree
  with their runs alone to rounding per step (tested in float64 and float32) and, over many
  seeds, to within seed noise in final accuracy (``benchmarks/bench_stack_modes.py`` tests the
  equivalence), not bit for bit.

``auto`` is exact on the CPU and batched elsewhere: on the 2-core CPU the batched mode measured
no faster than runs alone (``benchmarks/bench_stack_modes.py``), on GPUs it is the point of
stacking (and GPU kernels are not bit-reproducible across shapes anyway). A rule by device, not
a race timed at each start, so that the same command gives the same results every time.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from layerorder.activations import PARAMETER_FREE
from layerorder.blocks.dropout import Dropout
from layerorder.errors import LayerorderError
from layerorder.experiment.configuration.settings import STACK_MODES


def per_replica(mode: str, device: torch.device | str) -> bool:
    """Whether ``mode`` (``stack_mode``: auto, exact or batched) stacks replica by replica."""
    if mode == "auto":
        return torch.device(device).type == "cpu"
    if mode not in STACK_MODES:
        raise ValueError(f"stack mode must be one of {', '.join(STACK_MODES)}, not {mode!r}")
    return mode == "exact"


def mode_note(mode: str, device: torch.device | str) -> str | None:
    """What ``auto`` chose on ``device``, said once per sweep; None for a mode the user named."""
    if mode != "auto":
        return None
    if per_replica(mode, device):
        return (f"stack mode auto: exact on {torch.device(device).type} (each seed's own"
                " convolution and linear calls: the runs equal those trained alone)")
    return (f"stack mode auto: batched on {torch.device(device).type} (one grouped call for all"
            " seeds: equal to the runs alone to rounding)")


class StackingError(LayerorderError, ValueError):
    """A model that cannot be stacked; the reason names the layer."""


def layout(t: torch.Tensor) -> torch.memory_format:
    """The memory format ``t`` is laid out in (channels-last where it is, else contiguous)."""
    if t.dim() in (4, 5) and not t.is_contiguous():
        fmt = torch.channels_last if t.dim() == 4 else torch.channels_last_3d
        if t.is_contiguous(memory_format=fmt):
            return fmt
    return torch.contiguous_format


class _StackedConv:
    """K convolutions side by side (``replicas`` is K); mixed into nn.ConvNd.

    Exact: each replica's slice goes through the very convolution call its run makes alone (both
    passes); batched: one grouped convolution (groups x K) does all of them."""

    replicas = 1
    per_replica = True

    def _conv_forward(self, input, weight, bias):
        if not self.per_replica:
            return super()._conv_forward(input, weight, bias)
        k, padding = self.replicas, self.padding
        if self.padding_mode != "zeros":
            mode = self.padding_mode
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=mode)
            padding = 0 if isinstance(padding, str) else (0,) * len(self.stride)
        conv = (F.conv1d, F.conv2d, F.conv3d)[len(self.stride) - 1]
        biases = bias.chunk(k) if bias is not None else [None] * k
        fmt = layout(input)
        parts = [
            conv(
                x.contiguous(memory_format=fmt),
                w,
                b,
                self.stride,
                padding,
                self.dilation,
                self.groups // k,
            )
            for x, w, b in zip(input.chunk(k, dim=1), weight.chunk(k), biases)
        ]
        return torch.cat(parts, dim=1)


class StackedConv1d(_StackedConv, nn.Conv1d):
    pass


class StackedConv2d(_StackedConv, nn.Conv2d):
    pass


class StackedConv3d(_StackedConv, nn.Conv3d):
    pass


STACKED_CONV = ((nn.Conv1d, StackedConv1d), (nn.Conv2d, StackedConv2d), (nn.Conv3d, StackedConv3d))


def _own_parameters(module: nn.Module, mods: list[nn.Module], names=("weight", "bias")) -> None:
    """Give ``module`` each replica's own copy of its parameters ``names``.

    The wide tensor is joined from them on every forward (``_join``), so the optimizer steps the
    same tensors, of the same shapes, as it does for a run alone: its element-wise kernels then
    round each element exactly as they do there (they treat the tail of a tensor differently
    from its vectorised body, so a position inside one wide tensor would change the bits)."""
    module.replica_names = []
    for name in names:
        if getattr(mods[0], name, None) is None:
            continue
        module._parameters.pop(name, None)
        parts = [nn.Parameter(getattr(m, name).detach().clone()) for m in mods]
        module.add_module(f"{name}_replicas", nn.ParameterList(parts))
        module.replica_names.append(name)
    _join(module, ())
    module.register_forward_pre_hook(_join)


def _join(module: nn.Module, args) -> None:
    for name in module.replica_names:
        parts = list(getattr(module, f"{name}_replicas"))
        joined = torch.stack(parts) if isinstance(module, BatchedLinear) else torch.cat(parts)
        object.__setattr__(module, name, joined)


class BatchedLinear(nn.Module):
    """K independent linear layers on (B, K*in) inputs, giving (B, K*out)."""

    def __init__(self, linears: list[nn.Linear], per_replica: bool = True):
        super().__init__()
        self.k, self.per_replica = len(linears), per_replica
        self.bias = None
        _own_parameters(self, linears)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if self.per_replica:  # replica by replica, as a run alone calls it
            biases = self.bias if self.bias is not None else [None] * self.k
            parts = x.reshape(b, self.k, -1).unbind(1)
            outs = [F.linear(p.contiguous(), w, c) for p, w, c in zip(parts, self.weight, biases)]
            return torch.cat(outs, dim=1)
        xs = x.reshape(b, self.k, -1).transpose(0, 1)  # (K, B, in)
        wt = self.weight.transpose(1, 2)  # (K, in, out)
        # the bias goes in before the one rounding, as in F.linear (and in its dtype under amp)
        if self.bias is None:
            out = torch.bmm(xs, wt)
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), xs, wt)
        return out.transpose(0, 1).reshape(b, -1)


def rng_state(device: torch.device) -> torch.Tensor:
    """The state of the generator that dropout on ``device`` draws from."""
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    return torch.get_rng_state()


def set_rng_state(state: torch.Tensor, device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    else:
        torch.set_rng_state(state)


class StackedDropout(nn.Module):
    """Dropout whose mask for replica k comes from run k's own random stream.

    Element dropout on the CPU draws replica k's mask from ``fast[k]``, the ``DropoutStream`` that
    run k's model had attached. Otherwise (channel dropout, torch's own dropout, other devices)
    ``streams`` holds, per replica, the state of the generator that dropout draws from on the
    tensor's device (the CPU generator, or that CUDA device's), swapped in around that replica's
    draw; it is shared by every StackedDropout of one stacked model.
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
            set_rng_state(self.streams[k], x.device)
            # the layout a run alone would have (NHWC on CUDA): CUDA dropout draws in memory order
            chunk = chunk.contiguous(memory_format=layout(x))
            if self.channelwise:
                fn = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}[chunk.dim()]
                outs.append(fn(chunk, self.p, True))
            else:
                outs.append(F.dropout(chunk, self.p, True))
            self.streams[k] = rng_state(x.device)
        return torch.cat(outs, dim=1)


SHARED = (
    *(getattr(nn, name) for name in PARAMETER_FREE),
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


def _stack_conv(mods, per_replica: bool) -> nn.Module:
    m0, k = mods[0], len(mods)
    stacked_type = next(new for base, new in STACKED_CONV if isinstance(m0, base))
    new = stacked_type(
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
    new.replicas, new.per_replica = k, per_replica
    _own_parameters(new, mods)
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
        for name, _ in new.named_buffers():
            parts = [getattr(m, name) for m in mods]
            if name == "num_batches_tracked":
                getattr(new, name).copy_(parts[0])
            elif parts[0] is not None:
                getattr(new, name).copy_(_cat(parts))
    _own_parameters(new, mods)
    return new


def _stack_leaf(path: str, mods: list[nn.Module], streams: list, exact: bool) -> nn.Module:
    m0 = mods[0]
    if isinstance(m0, CONV):
        return _stack_conv(mods, exact)
    if isinstance(m0, nn.Linear):
        return BatchedLinear(mods, exact)
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


def _leaves(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if next(m.children(), None) is None and n]


def stack_models(models: list[nn.Module], streams: list, exact: bool = True) -> nn.Module:
    """One wide model equal to ``models`` side by side (same architecture, separate weights):
    ``exact`` replica by replica, else batched (the module docstring's two modes)."""
    wide = copy.deepcopy(models[0])
    for path in _leaves(models[0]):
        mods = [m.get_submodule(path) for m in models]
        parent_path, _, name = path.rpartition(".")
        parent = wide.get_submodule(parent_path) if parent_path else wide
        setattr(parent, name, _stack_leaf(path, mods, streams, exact))
    return wide


def unstack_into(wide: nn.Module, models: list[nn.Module]) -> None:
    """Copy the wide model's weights and buffers back into the K separate models."""
    k = len(models)
    with torch.no_grad():
        for path in _leaves(models[0]):
            mod = wide.get_submodule(path)
            for name in getattr(mod, "replica_names", ()):
                for model, part in zip(models, getattr(mod, f"{name}_replicas")):
                    getattr(model.get_submodule(path), name).copy_(part)
            for name, tensor in mod.named_buffers(recurse=False):
                for i, model in enumerate(models):
                    target = getattr(model.get_submodule(path), name)
                    target.copy_(tensor if name == "num_batches_tracked" else tensor.chunk(k)[i])
