"""Command-line options derived from the settings' declaration
(``layerorder.experiment.configuration.settings``), and the facts only the command line has:
each setting's flags, which command shows which settings, and which options repeat.

``@setting_options("compare")`` adds one Typer option per setting that the command shows (flags
from ``FLAGS`` or the name, the help from the declaration with the default named in it) and hands
the command the values given on the command line as one mapping, ``settings``; options not given
are None, so a TOML file or the declared default fills them.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer

from layerorder.experiment.configuration.probing import probe_takes
from layerorder.experiment.configuration.settings import (
    ANALYSIS,
    AXIS,
    EXECUTION,
    RUN,
    SETTINGS,
    Setting,
    flag,
    format_default,
)
from layerorder.search.budget import OWN_SETTINGS
from layerorder.store import DEFAULT_STORE

# flags other than --NAME (the first is the long one)
FLAGS: dict[str, tuple[str, ...]] = {
    "dataset": ("--dataset", "-d"),
    "data_options": ("--data-opt",),
    "arch": ("--arch", "-a"),
    "model": ("--model", "-m"),
    "orders": ("--order", "-o"),
    "params": ("--param",),
}
REPEATABLE = frozenset({"data_options", "orders", "vary", "params", "watch"})  # once per value

# the help's panels: what is compared (the grid's axes, the data, the model or the user's own
# run), how each run trains, how the runs are read, where they run; a command's own options
# (the store, the report, JSON) are its output
COMPARED, TRAINING, STATISTICS, EXECUTING, OUTPUT = (
    "What to compare", "Training", "Statistics", "Execution", "Output")
_COMPARED_RUN = frozenset({"dataset", "data_options", "arch", "model", "width", "heads", "depth",
                           "train", "command", "params", "code_version"})
_PANEL_OF_ROLE = {AXIS: COMPARED, RUN: TRAINING, ANALYSIS: STATISTICS, EXECUTION: EXECUTING}


STORE_HELP = ("Store: an SQLite file, or a PostgreSQL URL such as postgresql://USER@HOST/DB"
              " (the password from PGPASSWORD or ~/.pgpass).")


def store_option(default: str = DEFAULT_STORE, note: str = "", **options: Any) -> Any:
    """The ``--store`` option, one declaration for every command: a file path or a URL, kept
    as the string given (a ``Path`` would fold a URL's ``//``)."""
    return typer.Option(default, "--store", help=f"{STORE_HELP}{note}", **options)


def panel(s: Setting) -> str:
    """The help panel a setting's option is shown in."""
    return COMPARED if s.name in _COMPARED_RUN else _PANEL_OF_ROLE[s.role]


def cli_flags(s: Setting) -> tuple[str, ...]:
    return FLAGS.get(s.name, ("--" + s.name.replace("_", "-"),))


def _names(keep: Callable[[Setting], bool]) -> frozenset[str]:
    return frozenset(s.name for s in SETTINGS if keep(s))


# the settings each command shows; search shows compare's less the ones it decides itself
COMMANDS: dict[str, frozenset[str]] = {
    "compare": _names(lambda s: True),
    # one training per order: the run's settings, the orders and one lr, where to run
    "probe": _names(probe_takes),
    # a study's file fixes its runs; the command says only how they execute
    # (a study's runs are the built-in loop's: a user's run's timeout and watched files are not)
    "study": _names(lambda s: s.role == EXECUTION and s.name not in (
        "name", "compile", "max_runs", "run_timeout", "watch")),
    "report": frozenset({"margin", "baseline", "metric", "goal", "metric_range"}),
}
COMMANDS["search"] = COMMANDS["compare"] - frozenset(OWN_SETTINGS)


def settings_for(command: str) -> tuple[Setting, ...]:
    return tuple(s for s in SETTINGS if s.name in COMMANDS[command])


def _cli_type(s: Setting) -> Any:
    if s.check is flag:
        return bool | None
    return list[str] | None if s.name in REPEATABLE else str | None


def _option(s: Setting, default: Any) -> typer.models.OptionInfo:
    flags = cli_flags(s)
    if s.check is flag:
        long = flags[0]
        flags = (f"{long}/--no-{long[2:]}", *flags[1:])
    help_text = f"{s.help.rstrip('.')} (default: {format_default(default)})."
    metavar = None if s.check is flag else s.metavar
    return typer.Option(None, *flags, help=help_text, metavar=metavar, rich_help_panel=panel(s))


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
                annotation=_cli_type(s),
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
