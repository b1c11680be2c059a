"""``layerorder store``: what is done to a store as a whole (``copy``)."""

from __future__ import annotations

import typer

from layerorder.cli.console import out, print_json

store_app = typer.Typer(help="Copy a store between SQLite and PostgreSQL.",
                        no_args_is_help=True)


@store_app.command("copy")
def copy(
    source: str = typer.Argument(..., help="The store to copy: an SQLite file or a URL."),
    target: str = typer.Argument(
        ..., help="A new store (a file, or an empty PostgreSQL database or schema)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows copied as JSON."),
) -> None:
    """Copy every experiment, run, epoch, probe and search step, with their ids, into a new
    store: SQLite into PostgreSQL and back."""
    from layerorder.store.copy import copy_store

    summary = copy_store(source, target)
    if as_json:
        print_json({"source": summary.source, "target": summary.target, "rows": summary.rows})
        return
    counts = ", ".join(f"{n} {table}" for table, n in summary.rows.items())
    out.print(f"copied {summary.source} into {summary.target}: {counts}", markup=False,
              soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
