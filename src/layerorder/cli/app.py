"""The ``layerorder`` command: a Typer app, one module per command, thin by design.

``main`` runs the app and turns every user error into one line on stderr with exit code 2
(``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import signal
import sys
import threading
from typing import Any

import typer

from layerorder import __version__
from layerorder.cli import (
    commands_compare,
    commands_info,
    commands_lint,
    commands_probe,
    commands_report,
    commands_runs,
    commands_search,
    commands_store,
    commands_study,
    commands_worker,
)
from layerorder.cli.compat import ABORTS, USAGE_ERRORS
from layerorder.errors import EnvironmentFault, LayerorderError
from layerorder.terminal import printable

app = typer.Typer(
    name="layerorder",
    help=(
        "Measure where BatchNorm, the activation and Dropout belong: build, probe, train and"
        " compare layer orders on your own data and model."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"layerorder {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """layerorder: layer orders, measured."""


commands_compare.register(app)
commands_runs.register(app)
commands_probe.register(app)
commands_report.register(app)
commands_info.register(app)
commands_lint.register(app)
commands_study.register(app)
commands_search.register(app)
commands_worker.register(app)
commands_store.register(app)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"error: {printable(' '.join(message.split()))}\n")
    sys.exit(code)


def _terminated(signum, frame) -> None:
    """SIGTERM ends a command as Ctrl-C does: runs in flight are handed back."""
    raise KeyboardInterrupt


def reflow(text: str | None) -> str | None:
    """A docstring's paragraphs as one line each, for the help to wrap at the terminal's width
    (this Typer keeps the source's line breaks after the first paragraph); a paragraph of list
    items or examples keeps its lines."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    keep = ("-", ">>>", " ", "\b")
    return "\n\n".join(
        p if any(line.startswith(keep) for line in p.splitlines()[1:]) else " ".join(p.split("\n"))
        for p in paragraphs
    )


def _reflowed(command: Any) -> Any:  # a click command or group, of whichever click Typer uses
    command.help = reflow(command.help)
    for sub in getattr(command, "commands", {}).values():
        _reflowed(sub)
    return command


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("LAYERORDER_DEBUG") == "1"
    command = _reflowed(typer.main.get_command(app))
    with _sigterm_as_interrupt():
        _run(command, args, debug)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM handled like Ctrl-C while a command runs; the caller's handler restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(command, args: list[str], debug: bool) -> None:
    try:
        code = command.main(args=args, prog_name="layerorder", standalone_mode=False)
    except USAGE_ERRORS as exc:
        if debug:
            raise
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        # Typer words a bad choice as pydantic does ("Invalid value for '--format': Value error,
        # 'xml' is not one of ..."): the prefix says nothing the line does not
        message = exc.format_message().replace(": Value error, ", ": ", 1)
        _fail(message + where, 2)
    except EnvironmentFault as exc:  # the machine, not the input: disk full, store locked/damaged
        if debug:
            raise
        _fail(str(exc), 3)
    except LayerorderError as exc:
        if debug:
            raise
        _fail(str(exc), 2)
    except OSError as exc:  # a failure of the machine outside layerorder's own checks
        if debug:
            raise
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"cannot complete: {reason}{where}", 3)
    except (KeyboardInterrupt, *ABORTS):
        code = 130
    except Exception as exc:
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", 1)
    if code == 130:
        name = next((a for a in args if not a.startswith("-")), "")
        kept = "; finished runs are kept, rerun the command to resume" if name == "compare" else ""
        sys.stderr.write(f"interrupted{kept}\n")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
