"""The data set registry: list, describe and load data sets by name."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import sys
from typing import Any

from layerorder.data.base import Dataset, DatasetError, DatasetInfo
from layerorder.data.builtin import BUILTIN_ENTRIES
from layerorder.data.entry import DatasetEntry
from layerorder.data.options import coerce_options, coerce_seed
from layerorder.data.sequences import SEQUENCE_ENTRIES
from layerorder.data.synthetic import SYNTHETIC_ENTRY
from layerorder.data.vision import VISION_ENTRIES
from layerorder.errors import did_you_mean

_REGISTRY: dict[str, DatasetEntry] = {}


def register_dataset(entry: DatasetEntry, *, replace: bool = False) -> None:
    """Add ``entry`` under ``entry.key``; an existing key is an error unless ``replace``."""
    if entry.key in _REGISTRY and not replace:
        raise ValueError(f"data set '{entry.key}' is already registered")
    _REGISTRY[entry.key] = entry


def _resolve(name: str) -> tuple[DatasetEntry, str]:
    """The entry for ``name`` and the canonical name (``fashion_MNIST`` -> ``fashion-mnist``)."""
    if not isinstance(name, str) or not name.strip():
        raise DatasetError(f"a data set name must be a non-empty string, got {name!r}")
    text = name.strip()
    for entry in _REGISTRY.values():
        if entry.prefix and text.lower().startswith(entry.prefix):
            return entry, entry.prefix + text[len(entry.prefix) :]
    entry = _REGISTRY.get(text.lower().replace("_", "-"))
    if entry is None or entry.prefix:
        names = [e.name for e in _REGISTRY.values()]
        raise DatasetError(f"unknown data set '{name}'{did_you_mean(text, names)}")
    return entry, entry.name


def list_datasets() -> list[DatasetInfo]:
    """Every registered data set, in registration order (nothing is loaded)."""
    return [entry.info() for entry in _REGISTRY.values()]


def get_dataset_info(name: str) -> DatasetInfo:
    """The info of one data set; unknown names raise ``DatasetError`` with a suggestion."""
    entry, canonical = _resolve(name)
    return entry.info(canonical)


def _prepare(name: str, seed: Any, options: dict[str, Any]):
    entry, canonical = _resolve(name)
    seed = coerce_seed(seed)
    values = coerce_options(canonical, entry.specs, options)
    info = entry.info(canonical)
    if entry.check is not None:
        entry.check(info, values)
    return entry, info, seed, values


def _installed(package: str) -> bool:
    if package in sys.modules:
        return True
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def check_dataset(name: str, *, seed: Any = 0, **options: Any) -> DatasetInfo:
    """Check, without loading any data, that ``load_dataset`` accepts these arguments:
    the name, the options (coerced), option combinations and paths, and that an optional
    package the loader needs is installed. Returns the info with ``options`` set to the
    values that would be used (defaults filled in).
    """
    entry, info, _, values = _prepare(name, seed, options)
    if entry.requires and not _installed(entry.requires):
        raise DatasetError(
            f"data set '{info.name}' needs {entry.requires}; "
            f"install it with: pip install {entry.requires}"
        )
    return dataclasses.replace(info, options=values)


def load_dataset(name: str, *, seed: int = 0, **options: Any) -> Dataset:
    """Load a data set into memory as normalised tensors.

    ``options`` may be strings (from the CLI); they are coerced to each option's type.
    ``seed`` selects the generated data (mnist1d, synthetic); fixed-split data sets
    (mnist5k, digits, torchvision ones) ignore it but record it in ``Dataset.options``.
    """
    entry, info, seed, values = _prepare(name, seed, options)
    return check_loaded(entry.loader(info, seed, values))


def check_loaded(data: Dataset) -> Dataset:
    """Refuse data that would be blamed on the orders: a NaN or infinite input, a label outside
    0..classes-1, inputs and labels of different lengths. The message names the first bad
    sample, so the data can be fixed."""
    import torch

    for split in ("train", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if len(x) != len(y):
            raise DatasetError(
                f"data set '{data.name}': {len(x)} {split} inputs but {len(y)} labels"
            )
        bad = (~torch.isfinite(x)).reshape(len(x), -1).any(1).nonzero()
        if len(bad):
            raise DatasetError(
                f"data set '{data.name}': {split} sample {int(bad[0])} has a NaN or infinite"
                " value; fix or drop it (check options such as noise)"
            )
        wrong = ((y < 0) | (y >= data.num_classes)).nonzero()
        if len(wrong):
            i = int(wrong[0])
            raise DatasetError(
                f"data set '{data.name}': {split} label {int(y[i])} at index {i} is outside"
                f" 0..{data.num_classes - 1}"
            )
    return data


def entry_for(name: str) -> DatasetEntry:
    """The registry entry that ``name`` selects (unknown names raise ``DatasetError``)."""
    return _resolve(name)[0]


def is_user_entry(entry: DatasetEntry) -> bool:
    """True for entries registered after import (by the user, or for in-memory data)."""
    return _BUILTIN.get(entry.key) is not entry


def unregister_dataset(key: str) -> None:
    """Remove a registered entry (in-memory data sets no longer needed); built-ins stay."""
    if _REGISTRY.get(key) is not None and is_user_entry(_REGISTRY[key]):
        del _REGISTRY[key]


def user_entries() -> list[DatasetEntry]:
    """The entries registered after import (by the user, or for in-memory data)."""
    return [e for e in _REGISTRY.values() if is_user_entry(e)]


for _entry in (*BUILTIN_ENTRIES, SYNTHETIC_ENTRY, *SEQUENCE_ENTRIES, *VISION_ENTRIES):
    register_dataset(_entry)
_BUILTIN = dict(_REGISTRY)


@functools.lru_cache(maxsize=16)
def chance_level(name: str, options: tuple = ()) -> float:
    """The chance level (points) of a data set with ``options`` ((key, value), ...): the share
    of its most frequent test class (``Dataset.chance``); cached, as analyses ask repeatedly."""
    return load_dataset(name, **dict(options)).chance
