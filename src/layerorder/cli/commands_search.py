"""``layerorder search``: which order should this model use, under a compute budget?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from layerorder.cli.console import err, out, print_json
from layerorder.cli.options import OUTPUT, setting_options, store_option
from layerorder.cli.render import print_analysis
from layerorder.experiment.execution.progress import RichObserver
from layerorder.search.budget import FULL_SEEDS
from layerorder.store.location import argument
from layerorder.store.location import shown as shown_store
from layerorder.terminal import shown

if TYPE_CHECKING:
    from layerorder.search import SearchPlan, SearchResult


def _print_space(space, plan: SearchPlan) -> None:
    merged = f", {space.merged} spellings merged as the same function" if space.merged else ""
    out.print(f"[bold]{len(space.candidates)} candidate orders[/bold] from"
              f" {shown(space.base)}{merged}")
    _print_refused(space)
    for c in space.candidates:
        same = f"  (= {', '.join(c.same_as)})" if c.same_as else ""
        out.print(f"  {shown(c.spec)}{shown(same)}")
    table = Table(title="plan (cost in full runs)")
    for col in ("stage", "orders", "epochs", "seeds", "keeps", "cost"):
        table.add_column(col)
    for r in plan.rounds:
        table.add_row(f"round {r.index + 1}", str(r.candidates), str(r.epochs),
                      str(len(r.seeds)), str(r.keep), f"{r.cost / plan.epochs:.1f}")
    table.add_row("final", str(plan.finalists), str(plan.epochs),
                  f"{plan.final_seeds}..{plan.max_seeds}", "", f"≤ {plan.final_cost():.1f}")
    out.print(table)
    full = len(space.candidates) * FULL_SEEDS
    out.print(f"at most {plan.cost():.1f} of a {plan.budget:g}-run budget; training every"
              f" candidate to the end on {FULL_SEEDS} seeds would take {full} runs")


def _print_refused(space) -> None:
    if space.rejected:
        out.print(f"{len(space.rejected)} arrangements refused by the model:")
        for spec, why in space.rejected:
            out.print(f"  {shown(spec)}: {shown(why)}")


def _print_rounds(result: SearchResult) -> None:
    from layerorder.search.run import epochs

    for r in result.rounds:
        table = Table(title=f"round {r.plan.index + 1}: {epochs(r.plan.epochs)},"
                            f" {len(r.plan.seeds)} selection seed(s)")
        for col in ("rank", "order", r.metric.mean_title, ""):
            table.add_column(col)
        for i, s in enumerate(r.scores, 1):
            table.add_row(str(i), shown(s.order), r.metric.cell(s.mean),
                          "kept" if s.order in r.kept else "dropped")
        out.print(table)


@setting_options("search")
def search(
    base: str = typer.Option(
        None, "--base",
        help="The block order whose stages are arranged (default: the standard preset,"
        " conv-bn-relu-drop, or with --model the order of most of the model's blocks; add a pool"
        " stage to place pooling too).",
    ),
    norms: str = typer.Option(
        None, "--norms", help="Norm kinds to try, e.g. bn,gn,ln (a built-in --arch only)."
    ),
    acts: str = typer.Option(
        None, "--acts", help="Activations to try, e.g. relu,gelu (a built-in --arch only)."
    ),
    weight_first: bool = typer.Option(
        False, "--weight-first", help="Only orders that start with the weight layer."
    ),
    budget: str = typer.Option(
        None, "--budget",
        help="Full training runs to spend (30), or wall-clock time (45m, 2h, 900s). Default: a"
        " third of training every candidate on 5 seeds, or the least the plan needs.",
    ),
    eta: int = typer.Option(3, "--eta", min=2, help="Each round keeps the best 1/eta."),
    finalists: int = typer.Option(3, "--finalists", min=1, help="Orders in the final stage."),
    selection_seeds: int = typer.Option(
        2, "--selection-seeds", min=1, help="Seeds per candidate in the selection rounds."
    ),
    config_file: Path = typer.Option(None, "--config", help="TOML file with settings."),
    store: str = store_option(rich_help_panel=OUTPUT),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the space and the plan.", rich_help_panel=OUTPUT
    ),
    report: bool = typer.Option(
        True, "--report/--no-report",
        help="Write the HTML report: space, plan, pruning history and the final comparison.",
        rich_help_panel=OUTPUT,
    ),
    report_path: Path = typer.Option(
        Path("layerorder-search.html"), "--report-path", help="Where --report writes the page.",
        rich_help_panel=OUTPUT,
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the result as JSON.", rich_help_panel=OUTPUT
    ),
    settings: dict | None = None,
) -> None:
    """Find the best order for a model: every arrangement of its block's stages, pruned by
    successive halving on short runs, the finalists compared on fresh seeds until decided."""
    from layerorder.api import search_orders, search_plan
    from layerorder.report import check_report_path
    from layerorder.report.search import write_search_report

    options = {"base": base, "norms": norms, "acts": acts, "weight_first": weight_first,
               "budget": budget, "eta": eta, "finalists": finalists,
               "selection_seeds": selection_seeds, "config": config_file,
               "notes": lambda line: err.print(f"note: {line}", markup=False)}
    if dry_run:
        setup = search_plan(**options, **(settings or {}))
        _print_space(setup.space, setup.plan)
        if setup.budget.seconds is not None:
            out.print(f"time budget {setup.budget}: the final stage's seeds are set after the"
                      " selection rounds, from their measured time")
        return
    if report:  # refused before any training: the store itself, a folder, a foreign file
        check_report_path(report_path, store, what="--report-path")
    with RichObserver(err) as observer:
        result = search_orders(**options, **(settings or {}), store=store, observer=observer)
    written = write_search_report(result, store, report_path) if report else None
    if as_json:
        print_json({"report": str(written) if written else None, **result.to_dict()})
        return
    _print_refused(result.space)
    _print_rounds(result)
    print_analysis(result.final.analysis, result.final.table)
    out.print(shown(result.summary()))
    model = result.final.experiment.config.get("model")
    if model:
        out.print(shown(f"apply it to your model: layerorder rewrite '{model}' --to"
                         f" {result.best} -o best.pt"))
    name = result.name
    err.print(f"stored in {shown_store(store)}: experiments '{name}-round*' and '{name}-final',"
              f" and the history (layerorder export --store {argument(store)} --what search"
              f" -e {name})",
              markup=False)
    if written is not None:
        err.print(f"report: {written}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(search)
