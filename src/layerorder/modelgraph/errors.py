"""The one error type of reading, rewriting and linting a model (``layerorder.lint.LintError``)."""

from __future__ import annotations

from layerorder.errors import LayerorderError


class LintError(LayerorderError, ValueError):
    """A target that cannot be loaded, traced or run, or a rewrite that cannot be done."""


def short_reason(exc: BaseException, limit: int = 240) -> str:
    """``Type: first line of the message``, cut to ``limit`` characters, for one-line errors."""
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."
