"""A view's rich renderables as plain text: what a command prints, without colour, for a result's
``__str__`` (the terminal and the printed result then render the same records the same way)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.markup import escape

TEXT_WIDTH = 120  # columns of a command's output in a log or a pipe, and of a result as text


def as_text(renderables: Iterable[Any], width: int = TEXT_WIDTH) -> str:
    """``renderables`` (tables, markup strings, ``Text``) as the terminal shows them, uncoloured."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False,
                      force_terminal=False, force_jupyter=False, emoji=False)
    for item in renderables:
        console.print(item)
    return buffer.getvalue().rstrip("\n")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """User-supplied text made safe for a terminal: control characters (escape sequences that
    could rewrite the screen) shown as ``\\xNN``, undecodable bytes as ``\\udcNN``."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(text: object) -> str:
    """Text for a rich renderable: control characters made visible (``printable``), and rich's
    markup escaped, so a name from a user's model can neither rewrite the terminal nor style it."""
    return escape(printable(str(text)))
