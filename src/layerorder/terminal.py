"""A view's rich renderables as plain text: what a command prints, without colour, for a result's
``__str__`` (the terminal and the printed result then render the same records the same way)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from rich.console import Console

TEXT_WIDTH = 120  # columns of a command's output in a log or a pipe, and of a result as text


def as_text(renderables: Iterable[Any], width: int = TEXT_WIDTH) -> str:
    """``renderables`` (tables, markup strings, ``Text``) as the terminal shows them, uncoloured."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False,
                      force_terminal=False, force_jupyter=False, emoji=False)
    for item in renderables:
        console.print(item)
    return buffer.getvalue().rstrip("\n")
