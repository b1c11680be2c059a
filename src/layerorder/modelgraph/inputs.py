"""The input a model really takes, when the user gave no ``--input-shape``.

Two sources, in this order:

- **the target's own example**: an ``example_input`` attribute on the factory (or on the model
  object a target names), a tensor or a function of no arguments returning one;
- **a Hugging Face config**: a model with a ``config`` and a ``main_input_name`` takes token ids
  (``input_ids``: 16 ids below ``vocab_size``, fewer where ``max_position_embeddings`` is
  smaller) or an image (``pixel_values``: ``num_channels`` x ``image_size``^2).

An encoder-decoder model (``config.is_encoder_decoder``) is also fed its decoder's ids: the same
ids, given as ``decoder_input_ids`` by ``decoder_fed`` while the model runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from layerorder.modelgraph.errors import LintError

TOKENS = 16  # ids in a token model's example (fewer when its positions are fewer)


@dataclass(frozen=True)
class ModelInput:
    tensor: torch.Tensor
    origin: str  # where it came from, for the report's note

    @property
    def note(self) -> str:
        shape = "x".join(str(s) for s in self.tensor.shape)
        what = "token ids" if not self.tensor.dtype.is_floating_point else "a random input"
        return f"input: {what} of shape {shape}, {self.origin}"


def own_example(obj: Any, spec: str) -> torch.Tensor | None:
    """The ``example_input`` a factory or model names (a tensor, or a callable making one)."""
    example = getattr(obj, "example_input", None)
    if example is None:
        return None
    if callable(example) and not isinstance(example, torch.Tensor):
        try:
            example = example()
        except Exception as exc:
            raise LintError(f"target '{spec}': its example_input() failed: {exc}") from exc
    if not isinstance(example, torch.Tensor):
        raise LintError(
            f"target '{spec}': example_input is a {type(example).__name__}; make it a tensor"
            " (or a function of no arguments returning one)"
        )
    return example


def config_input(model: nn.Module, seed: int = 0) -> ModelInput | None:
    """A seeded input built from a Hugging Face model's config, or None."""
    config = getattr(model, "config", None)
    name = getattr(model, "main_input_name", None)
    if config is None or not isinstance(name, str):
        return None
    generator = torch.Generator().manual_seed(seed)
    if name == "input_ids" and isinstance(getattr(config, "vocab_size", None), int):
        positions = getattr(config, "max_position_embeddings", None)
        length = min(TOKENS, positions) if isinstance(positions, int) and positions > 0 else TOKENS
        ids = torch.randint(0, config.vocab_size, (1, length), generator=generator)
        return ModelInput(ids, f"ids below vocab_size {config.vocab_size} from the model's config")
    if name == "pixel_values":
        size = getattr(config, "image_size", None)
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        channels = getattr(config, "num_channels", 3)
        if all(isinstance(s, int) for s in size) and isinstance(channels, int):
            pixels = torch.randn(1, channels, *size, generator=generator)
            return ModelInput(pixels, "image_size and num_channels from the model's config")
    return None


@contextmanager
def decoder_fed(model: nn.Module) -> Iterator[None]:
    """While it lasts, an encoder-decoder Hugging Face model called with token ids alone gets
    the same ids as its decoder's input (they need ``decoder_input_ids`` to run); a model given
    features (Whisper's audio, an image) is left alone."""
    config = getattr(model, "config", None)
    if not getattr(config, "is_encoder_decoder", False):
        yield
        return

    def feed(module, args, kwargs):
        ids = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if (ids is not None and not ids.dtype.is_floating_point
                and "decoder_input_ids" not in kwargs and "decoder_inputs_embeds" not in kwargs):
            kwargs = {**kwargs, "decoder_input_ids": args[0]}
        return args, kwargs

    handle = model.register_forward_pre_hook(feed, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
