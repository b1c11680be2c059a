"""Click's exception classes, wherever this Typer keeps them (its own copy, or click itself)."""

from __future__ import annotations

import importlib


def _classes(name: str) -> tuple[type[BaseException], ...]:
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


USAGE_ERRORS = _classes("UsageError")
ABORTS = _classes("Abort")
