"""``layerorder lint``, ``rewrite`` and ``fold``: read a model's layer order, change it, fold BN."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from layerorder.cli.console import err, out, print_json
from layerorder.modelgraph.formats import FORMATS
from layerorder.targets import LOAD_TIMEOUT
from layerorder.terminal import shown

if TYPE_CHECKING:
    from layerorder.lint import FoldResult, LintReport, RewriteResult

# what loads and reads a model (torch) is imported by the command that uses it

TARGET_HELP = (
    "The model: FILE.py:FACTORY, MODULE:FACTORY (a function returning an nn.Module, or a module"
    " object), torchvision:NAME or timm:NAME (no weights are downloaded), or a saved FILE.pt2"
    " (torch.export) or FILE.pt (a TorchScript program or a pickled module, with"
    " --trust-pickle). Loading a target runs"
    " its code: only use targets you trust."
)
LINT_TARGET_HELP = TARGET_HELP + " lint also reads " + "; ".join(
    f"{f.title} models ({', '.join('model' + x for x in f.suffixes)}, or a factory returning one)"
    for f in FORMATS.values()
) + "."
SHAPE_HELP = (
    "Input shape, batch first, e.g. 1,3,224,224: used to run the model when torch.fx cannot"
    " trace it, and to check rewritten or folded models."
)
VOCAB_OPTION = typer.Option(
    None, "--vocab", min=1, metavar="N",
    help="The input is token ids below N (a LongTensor of --input-shape), for a model that starts"
    " with an embedding (a language model); default: a float input.",
)
TRUST_PICKLE_OPTION = typer.Option(
    False, "--trust-pickle",
    help="Load a FILE.pt whose loading runs code from the file: a pickled module (torch.load"
    " with weights_only off) or a TorchScript program (torch.jit.load); only for files you"
    " trust.",
)
LOAD_TIMEOUT_OPTION = typer.Option(
    LOAD_TIMEOUT,
    "--load-timeout",
    min=1.0,
    metavar="SECONDS",
    help="Seconds the target may take to import and build its model (at least 1).",
)


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"


class Mode(str, Enum):
    auto = "auto"
    fx = "fx"
    hooks = "hooks"


def _example(loaded: Any, given: Any) -> Any:
    """The input given by --input-shape, else the one the target names (``example_input``)."""
    return loaded.example if given is None else given


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def print_report(report: LintReport, top: int) -> None:
    from layerorder.lint.text import lint_view

    for item in lint_view(report, top):
        out.print(item)


def lint(
    target: str = typer.Argument(..., help=LINT_TARGET_HELP),
    input_shape: str = typer.Option(None, "--input-shape", "-i", help=SHAPE_HELP),
    fmt: LintFormat = typer.Option(LintFormat.text, "--format", "-f", help="text, json or sarif."),
    fail_on: FailOn = typer.Option(
        None,
        "--fail-on",
        help="Exit with code 1 when a finding at or above this level exists (for CI).",
    ),
    mode: Mode = typer.Option(
        Mode.auto, "--mode", help="auto (torch.fx, forward hooks when tracing fails), fx or hooks."
    ),
    top: int = typer.Option(20, "--top", min=1, help="Patterns to show in text output."),
    vocab: int = VOCAB_OPTION,
    trust_pickle: bool = TRUST_PICKLE_OPTION,
    load_timeout: float = LOAD_TIMEOUT_OPTION,
) -> None:
    """Report a model's layer-order patterns and mistakes: redundant biases, dropout before BN,
    activation before BN, repeated norms or activations, missing nonlinearities, BN folding."""
    from layerorder.lint import (
        LintError,
        example_input,
        lint_any,
        load_target,
        parse_shape,
        report_dict,
        to_sarif,
    )

    shape = parse_shape(input_shape)
    loaded = load_target(target, timeout=load_timeout, foreign=True, trust_pickle=trust_pickle)
    if vocab is not None and shape is None:
        raise LintError("--vocab gives token ids of --input-shape; give both, e.g. -i 1,16")
    report = lint_any(loaded.model, example=_example(loaded, example_input(shape, vocab=vocab)),
                      mode=mode.value, target=target)
    if fmt == LintFormat.json:
        print_json(report_dict(report))
    elif fmt == LintFormat.sarif:
        print_json(to_sarif(report, artifact=loaded.source_file))
    else:
        print_report(report, top)
    code = report.exit_code(fail_on.value if fail_on else None)
    if code:
        err.print(f"findings at or above '{fail_on.value}': exit code {code}")
        raise typer.Exit(code)


def _save(model, output: Path | None, target: str, what: str) -> None:
    if output is None:
        err.print(f"not written: give -o FILE.pt to save the {what} model")
        return
    from layerorder.lint import save_model

    files = save_model(model, output, source=target)
    err.print(f"wrote {', '.join(str(f) for f in files)}", markup=False)
    err.print(f"load it with: torch.load('{files[0]}', weights_only=False)", markup=False)


def print_rewrite(result: RewriteResult) -> None:
    out.print(f"[bold]{_count(len(result.changes), 'place')} rewritten[/bold]")
    for c in result.changes:
        out.print(f"  {shown(c.place)}: {c.before} -> {c.after}")
    if result.skipped:
        out.print(f"[bold]{_count(len(result.skipped), 'place')} skipped[/bold]")
        for s in result.skipped:
            out.print(f"  {shown(s.place)}: {shown(s.reason)}")
    for note in result.notes:
        out.print(f"note: {shown(note)}")
    if result.checked_shape is not None:
        shape = ",".join(map(str, result.checked_shape))
        same = ""
        if result.same_output:
            same = " and gives the original's output, bit for bit"
        elif result.difference is not None:
            same = (" and gives the original's output to rounding (largest difference"
                    f" {result.difference:.2g})")
        out.print(f"checked: the rewritten model runs on an input of shape {shape}{same}")
    else:
        out.print("not run: give --input-shape to check that the rewritten model runs")


def rewrite(
    target: str = typer.Argument(..., help=TARGET_HELP),
    swap: str = typer.Option(
        None,
        "--swap",
        help="Two roles A,B (norm, act, dropout): every A directly before B is"
        " swapped, e.g. norm,act turns conv-bn-relu into conv-relu-bn.",
    ),
    move_dropout: bool = typer.Option(
        False,
        "--move-dropout-after-norm",
        help="Move every dropout that feeds a BatchNorm after it (Li et al. 2019).",
    ),
    to: str = typer.Option(
        None, "--to", help="Rearrange every block whose stages match this order, e.g. preact."
    ),
    pool_first: bool = typer.Option(
        False,
        "--pool-first",
        help="Move every max-pool before the non-decreasing activation that feeds it (same"
        " output, fewer activation evaluations); with --input-shape the output is checked equal.",
    ),
    input_shape: str = typer.Option(None, "--input-shape", "-i", help=SHAPE_HELP),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (torch.save)."),
    allow_noop: bool = typer.Option(
        False, "--allow-noop",
        help="Succeed (and write -o) when nothing is rewritten; by default that exits 1.",
    ),
    vocab: int = VOCAB_OPTION,
    trust_pickle: bool = TRUST_PICKLE_OPTION,
    load_timeout: float = LOAD_TIMEOUT_OPTION,
) -> None:
    """Move norm/activation/dropout stages of a model (traced with torch.fx), keeping every
    weight, and write the result as a GraphModule (plus its code as .py)."""
    from layerorder.lint import example_input, load_target, parse_shape, rewrite_model

    shape = parse_shape(input_shape)
    loaded = load_target(target, timeout=load_timeout, trust_pickle=trust_pickle)
    result = rewrite_model(
        loaded.model,
        swap=swap,
        move_dropout_after_norm=move_dropout,
        to=to,
        pool_first=pool_first,
        example_input=_example(loaded, example_input(shape, vocab=vocab)),
    )
    print_rewrite(result)
    if not result.changes and not allow_noop:  # an unchanged model is not what was asked for
        err.print("nothing was rewritten (the reasons are above), so nothing was written; change"
                  " the request, or pass --allow-noop to accept the model unchanged",
                  markup=False)
        raise typer.Exit(1)
    _save(result.model, output, target, "rewritten")


def print_fold(result: FoldResult) -> None:
    out.print(f"[bold]{_count(len(result.folded), 'BatchNorm')} folded[/bold]")
    for p in result.folded:
        side = "before" if p.into == "previous" else "after"
        out.print(f"  {shown(p.norm)} -> {shown(p.weight or '')} (the layer {side})")
    if result.not_folded:
        out.print(f"[bold]{len(result.not_folded)} not folded[/bold]")
        for p in result.not_folded:
            out.print(f"  {shown(p.norm)}: {shown(p.reason)}")
    out.print(
        f"checked: outputs match within {result.tolerance:g}"
        f" (max abs difference {result.max_abs_diff:.2e})"
    )


def fold(
    target: str = typer.Argument(..., help=TARGET_HELP),
    input_shape: str = typer.Option(
        ..., "--input-shape", "-i", help="Input shape for the check, batch first, e.g. 1,3,32,32."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="File to write (torch.save)."),
    tolerance: float = typer.Option(1e-5, help="Largest allowed output difference."),
    vocab: int = VOCAB_OPTION,
    trust_pickle: bool = TRUST_PICKLE_OPTION,
    load_timeout: float = LOAD_TIMEOUT_OPTION,
) -> None:
    """Fold every foldable BatchNorm into its conv/linear layer (eval mode) and check that the
    outputs match on a random input; say why the others cannot be folded."""
    from layerorder.lint import example_input, fold_model, load_target, parse_shape

    shape = parse_shape(input_shape)
    loaded = load_target(target, timeout=load_timeout, trust_pickle=trust_pickle)
    result = fold_model(loaded.model, _example(loaded, example_input(shape, vocab=vocab)),
                        tolerance=tolerance, target=target)
    print_fold(result)
    _save(result.model, output, target, "folded")


def register(app: typer.Typer) -> None:
    app.command()(lint)
    app.command()(rewrite)
    app.command()(fold)
