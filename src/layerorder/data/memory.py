"""Data held by the caller (tensors, numpy arrays or torch Datasets), registered under a name
that carries a fingerprint of its contents, so the run keys of different data differ and the
same data resumes the same runs."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch

from layerorder.data.arrays import build_dataset
from layerorder.data.base import DatasetError, format_size
from layerorder.data.entry import DatasetEntry
from layerorder.files import SAFE_NAME, SAFE_NAME_RULE

PREFIX = "memory:"


def _tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.from_numpy(np.ascontiguousarray(np.asarray(value)))
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"data: {what} is not an array or tensor ({exc})") from None


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a tensor of any dtype (for fingerprints)."""
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _stack(dataset: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """All (x, y) pairs of a map-style torch Dataset as two tensors."""
    try:
        pairs = [dataset[i] for i in range(len(dataset))]
        xs = torch.stack([_tensor(p[0], what) for p in pairs])
        ys = torch.as_tensor([int(p[1]) for p in pairs])
    except (TypeError, IndexError, ValueError, RuntimeError) as exc:
        raise DatasetError(
            f"data: the {what} Dataset must give (input, class index) pairs of one shape: {exc}"
        ) from None
    return xs, ys


def _arrays(data: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return (*_stack(data[0], "train"), *_stack(data[1], "test"))
    if isinstance(data, (tuple, list)) and len(data) == 4:
        names = ("x_train", "y_train", "x_test", "y_test")
        return tuple(_tensor(v, n) for v, n in zip(data, names))
    raise DatasetError(
        "data= takes (x_train, y_train, x_test, y_test) arrays or tensors, or a pair of torch"
        f" Datasets (train, test); got {type(data).__name__}"
    )


def _check(x: torch.Tensor, y: torch.Tensor, split: str) -> None:
    if x.ndim < 2 or len(x) != len(y) or y.ndim != 1:
        raise DatasetError(
            f"data: {split} inputs {tuple(x.shape)} and labels {tuple(y.shape)} must be"
            " (N, ...) and (N,)"
        )
    if len(x) < 2:
        raise DatasetError(f"data: the {split} split needs at least 2 samples")
    if y.dtype.is_floating_point and not torch.equal(y, y.round()):
        raise DatasetError(f"data: {split} labels must be class indices (integers)")
    xf = x.to(torch.float32)
    bad = (~torch.isfinite(xf)).reshape(len(x), -1).any(1).nonzero()
    if len(bad):
        raise DatasetError(f"data: {split} sample {int(bad[0])} has a NaN or infinite value")
    if int(y.min()) < 0:
        raise DatasetError(f"data: {split} label at index {int(y.argmin())} is negative")




def _checked_name(name: str | None) -> str:
    """``NAME@`` for a data set name the caller gave (letters, digits, '_', '.', '-'), else ''."""
    if name is None:
        return ""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise DatasetError(f"data_name must be {SAFE_NAME_RULE}, got {name!r}")
    return f"{name}@"


def register_arrays(data: Any, name: str | None = None) -> str:
    """Register the caller's data; returns its data set name: ``memory:<fingerprint>``, or
    ``memory:NAME@<fingerprint>`` with the caller's ``name`` (what titles and tables show)."""
    from layerorder.data.registry import register_dataset, unregister_dataset, user_entries

    x_train, y_train, x_test, y_test = _arrays(data)
    _check(x_train, y_train, "train")
    _check(x_test, y_test, "test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"data: train samples {tuple(x_train.shape[1:])} and test samples"
            f" {tuple(x_test.shape[1:])} differ in shape"
        )
    num_classes = int(max(int(y_train.max()), int(y_test.max()))) + 1
    digest = hashlib.sha256()
    for t in (x_train, y_train, x_test, y_test):
        digest.update(str((t.dtype, tuple(t.shape))).encode())
        digest.update(tensor_bytes(t))
    name = PREFIX + _checked_name(name) + digest.hexdigest()[:12]
    in_shape = tuple(int(d) for d in x_train.shape[1:])
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}

    def load(info, seed, options):
        return build_dataset(
            info, **arrays, in_shape=in_shape, num_classes=num_classes, options=options
        )

    for old in user_entries():  # the arrays of an earlier call are no longer needed
        if old.key.startswith(PREFIX) and old.key != name:
            unregister_dataset(old.key)
    register_dataset(
        DatasetEntry(
            name=name,
            description="arrays given to layerorder.compare(data=...)",
            source="memory",
            in_shape=in_shape,
            num_classes=num_classes,
            size=format_size(len(x_train), len(x_test)),
            specs=(),
            loader=load,
        ),
        replace=True,
    )
    return name
