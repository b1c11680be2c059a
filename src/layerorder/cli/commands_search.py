"""``layerorder search``: which order should this model use, under a compute budget?"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from layerorder.api import DEFAULT_STORE
from layerorder.cli.commands_compare import build_config
from layerorder.cli.console import err, out, print_json
from layerorder.cli.options import setting_options
from layerorder.cli.render import print_analysis
from layerorder.errors import ConfigError
from layerorder.experiment.config import load_toml
from layerorder.experiment.progress import RichObserver
from layerorder.experiment.settings import BY_NAME
from layerorder.models import named_orders
from layerorder.report import check_report_path, write_report
from layerorder.report.search import search_sections
from layerorder.search import SearchPlan, SearchResult, plan_search, run_search
from layerorder.search.budget import parse_budget
from layerorder.search.model_space import experiment_space, model_base
from layerorder.search.run import FULL_SEEDS, epochs


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (text or "").split(",") if t.strip())


def _print_space(space, plan: SearchPlan) -> None:
    merged = f", {space.merged} spellings merged as the same function" if space.merged else ""
    out.print(f"[bold]{len(space.candidates)} candidate orders[/bold] from {space.base}{merged}")
    _print_refused(space)
    for c in space.candidates:
        same = f"  (= {', '.join(c.same_as)})" if c.same_as else ""
        out.print(f"  {escape(c.spec)}{escape(same)}")
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
            out.print(f"  {escape(spec)}: {escape(why)}")


def _print_rounds(result: SearchResult) -> None:
    for r in result.rounds:
        table = Table(title=f"round {r.plan.index + 1}: {epochs(r.plan.epochs)},"
                            f" {len(r.plan.seeds)} selection seed(s)")
        for col in ("rank", "order", "mean acc %", ""):
            table.add_column(col)
        for i, s in enumerate(r.scores, 1):
            table.add_row(str(i), escape(s.order), f"{s.mean_acc:.2f}",
                          "kept" if s.order in r.kept else "dropped")
        out.print(table)


def _summary(result: SearchResult) -> str:
    parts = [f"search picks {result.best}"]
    margin = result.final.analysis.margin
    if result.equivalent:
        parts.append(f"equivalent to it within ±{margin:g} points: {', '.join(result.equivalent)}")
    if result.worse:
        parts.append(f"significantly worse: {', '.join(result.worse)}")
    if result.undecided:
        parts.append(f"undecided at {result.plan.max_seeds} seeds: {', '.join(result.undecided)}")
    parts.append(f"final verdict on {len({r.seed for r in result.final.runs})} fresh seeds only;"
                 f" {result.spent:.1f} full runs spent of a {result.plan.budget:g}-run budget")
    return "; ".join(parts)


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
    store: Path = typer.Option(Path(DEFAULT_STORE), help="SQLite store file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the space and the plan."),
    report: bool = typer.Option(
        True, "--report/--no-report",
        help="Write the HTML report: space, plan, pruning history and the final comparison.",
    ),
    report_path: Path = typer.Option(
        Path("layerorder-search.html"), "--report-path", help="Where --report writes the page."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    settings: dict | None = None,
) -> None:
    """Find the best order for a model: every arrangement of its block's stages, pruned by
    successive halving on short runs, the finalists compared on fresh seeds until decided."""
    values = {k: v for k, v in (settings or {}).items() if v is not None}
    file_values = load_toml(config_file) if config_file else {}
    model = values.get("model") or file_values.get("model")
    if base is None and model:
        base, count, total = model_base(model)
        err.print(f"--base {base}: the order of {count} of the model's {total} blocks",
                  markup=False)
    arch = values.get("arch") or file_values.get("arch") or BY_NAME["arch"].default
    named = None if model else named_orders(arch)
    first = named[0] if named else (base or "standard")
    config = build_config(config_file, {**values, "orders": (first,)})
    taken = [k for k in ("vary", "baseline") if getattr(config, k)]
    if taken:
        raise ConfigError(f"search decides {' and '.join(taken)} itself; leave "
                          f"{', '.join(taken)} out of {config_file or 'the settings'}")
    space = experiment_space(config, base=base, norms=_names(norms), acts=_names(acts),
                             weight_first=weight_first)
    if not space.candidates:
        raise ConfigError(f"no arrangement of '{space.base}' applies to this model; check"
                          " --base against `layerorder lint` of the model")
    limit = parse_budget(budget)
    plan = plan_search(len(space.candidates), epochs=config.epochs, budget=limit.runs, eta=eta,
                       finalists=finalists, selection_seeds=selection_seeds)
    if dry_run:
        _print_space(space, plan)
        if limit.seconds is not None:
            out.print(f"time budget {limit}: the final stage's seeds are set after the selection"
                      " rounds, from their measured time")
        return
    if report:  # refused before any training: the store itself, a folder, a foreign file
        check_report_path(report_path, store, what="--report-path")
    observer = RichObserver(err)
    with observer:
        result = run_search({**config.to_dict(), **values}, space, plan, store,
                            name=f"search-{config.name}", seconds=limit.seconds,
                            observer=observer)
    written = None
    if report:
        final = result.final
        written = write_report(store, report_path, experiment=str(final.experiment.id),
                               run_ids=[r.id for r in final.runs], analysis=final.analysis,
                               lead=search_sections(result, FULL_SEEDS))[0]
    if as_json:
        print_json({
            "report": str(written) if written else None,
            "space": dataclasses.asdict(space),
            "plan": dataclasses.asdict(plan),
            "rounds": [dataclasses.asdict(r) for r in result.rounds],
            "final": result.final.to_dict(),
            "best": result.best,
            "equivalent": list(result.equivalent),
            "worse": list(result.worse),
            "undecided": list(result.undecided),
            "spent": result.spent,
            "history": [dataclasses.asdict(step) for step in result.history],
        })
        return
    _print_refused(space)
    _print_rounds(result)
    print_analysis(result.final.analysis, result.final.table)
    out.print(escape(_summary(result)))
    if config.model:
        out.print(escape(f"apply it to your model: layerorder rewrite '{config.model}' --to"
                         f" {result.best} -o best.pt"))
    name = f"search-{config.name}"
    err.print(f"stored in {store}: experiments '{name}-round*' and '{name}-final', and the"
              f" history (layerorder export --store {store} --what search -e {name})",
              markup=False)
    if written is not None:
        err.print(f"report: {written}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(search)
