"""Packages whose public names are imported on first use (PEP 562), so that importing a light
part of a package (a constant, a parser) does not import torch, the statistics or matplotlib
through the package's ``__init__``: the command line answers ``--help`` at once.

    _LAZY = {"Results": "layerorder.results", "probe": None}   # None: the subpackage itself
    __getattr__, __dir__ = lazy_names(__name__, _LAZY)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def _imported(module: str) -> Any:
    """The module, imported by the import statement's own machinery (``__import__``), so that
    ``python -X importtime`` lists it as it lists every other import (``importlib.import_module``
    bypasses that log)."""
    __import__(module)
    return sys.modules[module]


def lazy_names(
    package: str, names: Mapping[str, str | None]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``names`` (public name -> the module that
    defines it, absolute or relative to ``package``; None for the subpackage of that name)."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        where = names[name]
        if where is None:
            value = _imported(f"{package}.{name}")
        else:
            module = where if where.startswith("layerorder.") else f"{package}.{where}"
            value = getattr(_imported(module), name)
        vars(sys.modules[package])[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *names])

    return __getattr__, __dir__
