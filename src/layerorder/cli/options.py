"""Command-line options derived from ``layerorder.experiment.settings.SETTINGS``.

``@setting_options("compare")`` adds one Typer option per setting that the command shows (flags,
type and help from the declaration, the default named in the help) and hands the command the
values given on the command line as one mapping, ``settings``; options not given are None, so a
TOML file or the declared default fills them.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer

from layerorder.experiment.settings import SETTINGS, Setting, format_default
from layerorder.search.run import OWN_SETTINGS

_CLI_TYPES = {str: str | None, list: list[str] | None, bool: bool | None}


def _option(s: Setting, default: Any) -> typer.models.OptionInfo:
    flags = s.cli_flags
    if s.cli is bool:
        long = flags[0]
        flags = (f"{long}/--no-{long[2:]}", *flags[1:])
    help_text = f"{s.help.rstrip('.')} (default: {format_default(default)})."
    metavar = None if s.cli is bool else s.metavar
    return typer.Option(None, *flags, help=help_text, metavar=metavar)


# commands that take another command's settings, less the ones they decide themselves
INHERITS: dict[str, tuple[str, frozenset[str]]] = {
    "search": ("compare", frozenset(OWN_SETTINGS)),
}


def settings_for(command: str) -> tuple[Setting, ...]:
    if command in INHERITS:
        base, own = INHERITS[command]
        return tuple(s for s in SETTINGS if base in s.commands and s.name not in own)
    return tuple(s for s in SETTINGS if command in s.commands)


def setting_options(command: str, defaults: dict[str, Any] | None = None) -> Callable:
    """Decorate a command taking ``settings: dict`` with the options of ``command``'s settings.
    ``defaults`` names the command's own defaults where they differ from the declaration's
    (shown in the help; the command applies them)."""
    shown = settings_for(command)
    own = defaults or {}

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.name != "settings"]
        extra = [
            inspect.Parameter(
                s.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=_option(s, own.get(s.name, s.default)),
                annotation=_CLI_TYPES[s.cli],
            )
            for s in shown
        ]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            values = {s.name: kwargs.pop(s.name, None) for s in shown}
            return func(**kwargs, settings=values)

        resolved = typing.get_type_hints(func)
        params = [p.replace(annotation=resolved.get(p.name, p.annotation)) for p in params]
        hints = {p.name: p.annotation for p in params}
        hints.update({p.name: p.annotation for p in extra})
        wrapper.__signature__ = sig.replace(parameters=[*params, *extra])
        wrapper.__annotations__ = hints
        del wrapper.__wrapped__  # Typer reads the signature above, not the wrapped function's
        return wrapper

    return decorate
