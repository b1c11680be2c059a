"""``layerorder orders`` and ``layerorder datasets``: the vocabulary, explained."""

from __future__ import annotations

import typer
from rich.table import Table

from layerorder.archs import ARCH_NOTES, RESIDUAL_VARIANTS
from layerorder.cli.console import out
from layerorder.data import get_dataset_info, list_datasets
from layerorder.order import (
    POOL_EXAMPLES,
    PRESET_NOTES,
    PRESETS,
    ROLES,
    aliases,
    describe_order,
    parse_order,
    tokens,
)
from layerorder.placements import placement_specs, recurrent_specs
from layerorder.terminal import shown


def orders(
    spec: str = typer.Argument(None, help="An order spec or preset to explain, e.g. conv-relu-bn."),
) -> None:
    """List presets, tokens and examples, or explain one order spec."""
    if spec is not None:
        order = parse_order(spec)
        out.print(f"[bold]{order.label}[/bold] = {order.spec}")
        for line in describe_order(order):
            out.print(f"  {line}")
        return
    table = Table(title="Presets", show_lines=False)
    for col in ("name", "spec", "what it tests"):
        table.add_column(col)
    for name, value in PRESETS.items():
        table.add_row(name, value, PRESET_NOTES[name])
    out.print(table)
    tok = Table(title="Tokens (join with '-')")
    tok.add_column("role")
    tok.add_column("tokens")
    for role in ROLES:
        tok.add_row(role, ", ".join(tokens(role)))
    tok.add_row("aliases", ", ".join(f"{a}={c}" for a, c in aliases().items()))
    out.print(tok)
    pools = Table(
        title="Pooling placements (maxpool and avgpool are 2x2, stride 2; maxpool3 is 3x3,"
        " stride 3; maxpool3s2 is 3x3, stride 2)"
    )
    pools.add_column("spec")
    pools.add_column("what it does")
    for spec_text, note in POOL_EXAMPLES.items():
        pools.add_row(spec_text, note)
    out.print(pools)
    out.print(f"Residual units (for --arch resnet): {', '.join(RESIDUAL_VARIANTS)}")
    out.print(
        "Norm placements (for --arch transformer, every attention and MLP sublayer): post-NORM"
        " x = norm(x + f(x)) (original Transformer); pre-NORM x = x + f(norm(x)) with a final"
        " norm; sandwich-NORM x = x + norm(f(norm(x))); no-norm; NORM is ln, rmsnorm or bn:"
        f" {', '.join(placement_specs())}"
    )
    out.print(f"Recurrent cells and norms (for --arch rnn): {', '.join(recurrent_specs())}")
    out.print("Architectures: " + "; ".join(f"{a}: {n}" for a, n in ARCH_NOTES.items()))
    out.print(
        "Examples: conv-bn-relu-drop, conv-relu-bn, bn-relu-conv, conv-gn-gelu-dropch."
        " Explain one with: layerorder orders conv-relu-bn"
    )


def datasets(
    name: str = typer.Argument(None, help="A data set to describe, e.g. mnist1d."),
) -> None:
    """List the data sets with size and source, or show one."""
    if name is not None:
        info = get_dataset_info(name)
        out.print(f"[bold]{shown(info.name)}[/bold]: {shown(info.description)}")
        out.print(f"  size: {info.size}")
        out.print(f"  input shape: {info.in_shape or 'depends on the files'}")
        out.print(f"  classes: {info.num_classes or 'depends on the files'}")
        out.print(f"  source: {shown(info.source)}")
        if info.requires:
            out.print(f"  requires: {info.requires}")
        opts = ", ".join(f"{k}={v}" for k, v in info.options.items()) or "none"
        out.print(f"  options (--data-opt KEY=VALUE): {opts}")
        return
    table = Table(title="Data sets")
    for col in ("name", "size", "input", "classes", "source"):
        table.add_column(col)
    for info in list_datasets():
        note = f" (needs {info.requires})" if info.requires else ""
        table.add_row(
            info.name + note,
            info.size,
            str(info.in_shape or "-"),
            str(info.num_classes or "-"),
            info.source,
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(orders)
    app.command()(datasets)
