"""Data set options: their specs, and coercion of user values (which may be CLI strings)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from layerorder.data.base import DatasetError
from layerorder.errors import did_you_mean

_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f"})
_KIND_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class OptionSpec:
    """One option of a data set: its default, its type, an optional lower bound."""

    name: str
    default: Any
    kind: type  # bool, int, float or str; values are coerced to it
    help: str = ""
    minimum: float | None = None


def coerce_options(
    dataset: str, specs: tuple[OptionSpec, ...], given: Mapping[str, Any]
) -> dict[str, Any]:
    """The full option dict (defaults filled in), coerced and checked.

    Keys may use ``-`` for ``_`` (``num-samples``). Unknown keys and bad values
    raise ``DatasetError`` naming the option and the fix.
    """
    by_name = {spec.name: spec for spec in specs}
    values = {spec.name: spec.default for spec in specs}
    for raw_key, value in given.items():
        key = str(raw_key).strip().replace("-", "_")
        spec = by_name.get(key)
        if spec is None:
            if not by_name:
                raise DatasetError(f"unknown option '{raw_key}': data set '{dataset}' has none")
            hint = did_you_mean(key, by_name)
            raise DatasetError(f"unknown option '{raw_key}' for data set '{dataset}'{hint}")
        values[key] = coerce_value(dataset, spec, value)
    return values


def coerce_seed(seed: Any) -> int:
    """The seed as a non-negative int (strings from the CLI are accepted)."""
    spec = OptionSpec("seed", 0, int, minimum=0)
    value = coerce_value("", spec, seed)
    if value >= 2**32:  # numpy's legacy seeding (used by mnist1d) takes 32 bits
        raise DatasetError(f"option 'seed' must be < 2**32, got {value}")
    return value


def coerce_value(dataset: str, spec: OptionSpec, value: Any) -> Any:
    """``value`` converted to ``spec.kind`` and checked against ``spec.minimum``."""
    if value is None and spec.default is None:
        return None
    converted = _convert(spec.kind, value)
    where = f"option '{spec.name}'" + (f" of data set '{dataset}'" if dataset else "")
    if converted is _INVALID:
        word = _KIND_WORDS.get(spec.kind, spec.kind.__name__)
        raise DatasetError(f"{where} must be {word}, got {value!r}")
    if spec.minimum is not None and converted < spec.minimum:
        minimum = int(spec.minimum) if float(spec.minimum).is_integer() else spec.minimum
        raise DatasetError(f"{where} must be >= {minimum}, got {converted!r}")
    return converted


_INVALID = object()


def _convert(kind: type, value: Any) -> Any:
    if kind is bool:
        return _to_bool(value)
    if kind is int:
        return _to_int(value)
    if kind is float:
        return _to_float(value)
    if kind is str:
        if isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        return _INVALID
    return value if isinstance(value, kind) else _INVALID


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return _INVALID


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else _INVALID
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return _INVALID
    return _INVALID


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return _INVALID
    return _INVALID
