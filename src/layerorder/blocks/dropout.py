"""Element dropout with a fast CPU mask stream.

PyTorch's CPU dropout draws each mask element with ``bernoulli_`` from its mt19937 generator:
one 32-bit draw per element, about 7 ns each here, a quarter of a training step of the default
``cnn1d``. ``Dropout`` is ``nn.Dropout`` with one difference: once a ``DropoutStream`` is
attached (``seed_dropout(model, seed)``, which the training loops do), masks of CPU tensors come
from that stream instead. The stream is numpy's PCG64: each 64-bit word is split into four 16-bit
uniforms ``u`` and an element is kept where ``u >= t`` with ``t = round(p * 65536)``, so the drop
probability is ``p`` rounded to a multiple of 1/65536 and kept elements are scaled by
``65536 / (65536 - t)`` (the expected output equals the input, as in ``nn.Dropout``).

Without a stream, on other devices (CUDA's own dropout is fast), in eval mode or with ``p == 0``
the module is exactly ``nn.Dropout``. One stream per run, shared by every dropout of the model,
makes the masks a function of the run's seed and the order of the forward calls; the stacked
executor gives each replica its run's stream, so its masks equal the run trained alone.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

_STREAM_KEY = 0x64726F70  # keeps dropout streams apart from any other use of the run's seed
_LEVELS = 65536

_NP_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


class DropoutStream:
    """One run's source of dropout masks (PCG64 seeded by the run's seed)."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._bits = np.random.PCG64(np.random.SeedSequence([_STREAM_KEY, self.seed]))

    @property
    def state(self) -> dict:
        """The generator's state (to restore after a side computation, such as a probe)."""
        return self._bits.state

    @state.setter
    def state(self, value: dict) -> None:
        self._bits.state = value

    def mask(self, shape, p: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A scaled keep-mask of ``shape``: 0 where dropped, ``1 / (1 - p')`` where kept; run
        eagerly under torch.compile (see ``eager_under_compile``), so the masks are the same
        either way."""
        if _EAGER_MASK is not None:
            return _EAGER_MASK(self, shape, p, dtype)
        return self._mask(shape, p, dtype)

    def _mask(self, shape, p: float, dtype: torch.dtype) -> torch.Tensor:
        n = math.prod(shape)
        threshold = round(p * _LEVELS)
        if threshold >= _LEVELS:  # p within 1/131072 of 1: everything is dropped
            return torch.zeros(tuple(shape), dtype=dtype)
        words = self._bits.random_raw((n + 3) // 4)
        keep = words.view(np.uint16)[:n] >= threshold
        np_dtype = _NP_DTYPES.get(dtype, np.float32)
        scaled = keep.astype(np_dtype)
        scaled *= _LEVELS / (_LEVELS - threshold)
        out = torch.from_numpy(scaled).view(tuple(shape))
        return out if out.dtype == dtype else out.to(dtype)


_EAGER_MASK = None  # DropoutStream._mask under torch.compiler.disable, once a model is compiled


def eager_under_compile() -> None:
    """Make the masks run eagerly under ``torch.compile`` (``torch.compiler.disable``); called
    before a model is compiled rather than at import, since the decorator imports
    ``torch._dynamo``: about a second of every process's start (the CLI's and each pool
    worker's) that eager training never needs. Idempotent."""
    global _EAGER_MASK
    if _EAGER_MASK is None:
        _EAGER_MASK = torch.compiler.disable(DropoutStream._mask)


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose CPU masks come from an attached ``DropoutStream`` (see module doc)."""

    stream: DropoutStream | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stream = self.stream
        if stream is None or not self.training or self.p == 0.0 or x.device.type != "cpu":
            return super().forward(x)
        mask = stream.mask(x.shape, self.p, x.dtype)
        return x.mul_(mask) if self.inplace else x * mask


def dropout_streams(model: nn.Module) -> list[DropoutStream]:
    """The distinct streams attached to ``model``'s dropouts."""
    found = {}
    for module in model.modules():
        if isinstance(module, Dropout) and module.stream is not None:
            found[id(module.stream)] = module.stream
    return list(found.values())


def seed_dropout(model: nn.Module, seed: int) -> DropoutStream:
    """Attach one new stream, seeded by ``seed``, to every ``Dropout`` in ``model``."""
    stream = DropoutStream(seed)
    for module in model.modules():
        if isinstance(module, Dropout):
            module.stream = stream
    return stream
