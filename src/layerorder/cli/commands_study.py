"""``layerorder study``: the claims of the debate as studies; list, show, run and report them."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from layerorder.cli.console import err, out
from layerorder.cli.options import setting_options, store_option
from layerorder.errors import ConfigError
from layerorder.files import atomic_write_text, check_output, is_html_report
from layerorder.store.location import argument, as_file
from layerorder.store.location import exists as store_exists
from layerorder.studies.catalog import DEFAULT_STUDY_STORE, builtin_names, load_study
from layerorder.studies.regime import experiment_regime
from layerorder.terminal import shown

# what trains and evaluates (torch, the statistics) is imported by the command that uses it

study_app = typer.Typer(
    help="The claims of the BN/activation/dropout/pooling debate, each tested by a built-in"
    " study: list them, show one, run it (resumable), and report a verdict per claim.",
    no_args_is_help=True,
)
STORE = store_option(DEFAULT_STUDY_STORE, note=" Every study's runs go there.")
NAMES = typer.Argument(None, help="Built-in studies or study .toml files.")
EVERY = typer.Option(False, "--all", help="Every built-in study.")
SCALE = typer.Option("quick", "--scale",
                     help="quick (tests, minutes), cpu (each claim's regime on a 2-core CPU, about"
                     " 2 h for all) or full (a GPU).")


class FindingsFormat(str, Enum):
    html = "html"
    md = "md"
    json = "json"


def _studies(names: list[str] | None, every: bool):
    if every and names:
        raise ConfigError("give study names or --all, not both")
    if every:
        return [load_study(n) for n in builtin_names()]
    if not names:
        raise ConfigError("name a study (see 'layerorder study list') or pass --all")
    return [load_study(n) for n in names]


def _runs(study, scale: str) -> int:
    return sum(len(study.config(e.id, scale).runs()) for e in study.experiments_at(scale))


def _time(study, scale: str) -> str:
    sc = study.scales.get(scale)
    if sc is None:
        return "-"
    if sc.minutes is not None:
        return f"{sc.minutes:g} min ({sc.measured_on or 'measured'})"
    if sc.gpu_hours is not None:
        return f"about {sc.gpu_hours:g} GPU-h (expected)"
    return "not measured"


@study_app.command("list")
def list_studies() -> None:
    """The built-in studies: claims, and runs and time at the quick and cpu scales."""
    table = Table(title="Built-in studies")
    for col in ("name", "title", "claims", "quick runs", "quick time", "cpu runs", "cpu time",
                "full"):
        table.add_column(col)
    for name in builtin_names():
        s = load_study(name)
        cpu_runs = str(_runs(s, "cpu")) if "cpu" in s.scales else "-"
        table.add_row(s.name, shown(s.title), str(len(s.claims)), str(_runs(s, "quick")),
                      _time(s, "quick"), cpu_runs, _time(s, "cpu"), _time(s, "full"))
    out.print(table)


@study_app.command("show")
def show(name: str = typer.Argument(..., help="A built-in study or a study .toml file.")) -> None:
    """A study's question, experiments at each scale, estimated time, and its claims."""
    s = load_study(name)
    out.print(f"[bold]{shown(s.title)}[/bold] ({shown(s.name)}, version {s.version},"
              f" {shown(s.path)})")
    out.print(shown(s.question))
    for scale in s.scales:
        sc = s.scales[scale]
        out.print(f"\n[bold]scale {scale}[/bold]: {_runs(s, scale)} runs, {_time(s, scale)}"
                  + (f"; {shown(sc.note)}" if sc.note else ""))
        for e in s.experiments_at(scale):
            c = s.config(e.id, scale)
            vary = "".join(f", {f} in {list(v)}" for f, v in c.vary)
            out.print(f"  {e.id}: {shown(e.title)}: {len(c.runs())} runs, orders "
                      f"{', '.join(c.orders)}, {len(c.seeds)} seeds{vary}"
                      f"{', probed' if c.probe else ''}")
            out.print("    regime: " + shown("; ".join(f"{k} {v}"
                                                     for k, v in experiment_regime(c))))
    table = Table(title="Claims")
    for col in ("id", "test", "scales", "claim", "source"):
        table.add_column(col)
    for c in s.claims:
        only = [x for x in s.scales if c in s.claims_at(x)]
        table.add_row(c.id, c.test.kind, "all" if len(only) == len(s.scales) else ", ".join(only),
                      shown(c.statement), shown(c.source))
    out.print(table)


@study_app.command("run")
@setting_options("study")
def run(
    names: list[str] = NAMES,
    every: bool = EVERY,
    scale: str = SCALE,
    store: str = STORE,
    settings: dict | None = None,
) -> None:
    """Train what the store lacks of each study (a second run trains nothing), then print a
    verdict per claim."""
    from layerorder.experiment.execution.progress import RichObserver
    from layerorder.studies.run import evaluate_study, run_study

    studies = _studies(names, every)
    execution = dict(settings or {})  # where runs happen: never part of a run's key
    for s in studies:
        s.scale(scale)  # every study has the scale before anything trains
    for s in studies:
        err.print(f"[bold]study {s.name}[/bold] at scale {scale}: {_runs(s, scale)} runs")
        observer = RichObserver(err)
        with observer:
            run_study(s, scale, store, execution=execution, observer=observer)
        _print_verdicts(evaluate_study(s, scale, store))


def _print_verdicts(result) -> None:
    from layerorder.studies.text import verdict_table

    out.print(verdict_table(result))


@study_app.command("report")
def report(
    names: list[str] = NAMES,
    every: bool = EVERY,
    scale: str = SCALE,
    store: str = STORE,
    fmt: FindingsFormat = typer.Option(FindingsFormat.html, "--format", "-f",
                                       help="html (one file), md (PNG figures beside it) or json"
                                       " (each claim's verdict and evidence)."),
    output: Path = typer.Option(None, "--output", "-o",
                                help="File to write (default: layerorder-findings.html, .md"
                                " or .json)."),
    sources: list[Path] = typer.Option(None, "--from",
                                       help="Draw the page from findings JSON files (written by"
                                       " --format json; repeatable) instead of a store: no"
                                       " store, nothing trained or evaluated again."),
) -> None:
    """A verdict per claim (supported, contradicted or undecided where the scale meets the
    source's regime; agrees outside it, or not reproduced, where it does not) with its numbers,
    the source's number, a figure and the command that reproduces it; checks apart; the primary
    claims Holm-corrected together; training nothing."""
    from layerorder.report.findings import (
        FINDINGS_HEAD,
        render_findings_html,
        render_findings_markdown,
    )
    from layerorder.report.findings_json import (
        findings_from_json,
        is_findings_json,
        render_findings_json,
    )

    target = output or Path(f"layerorder-findings.{fmt.value}")
    ours = {FindingsFormat.html: is_html_report, FindingsFormat.json: is_findings_json,
            FindingsFormat.md: lambda head: head.startswith(FINDINGS_HEAD.encode())}[fmt]
    if sources:
        if names or every:
            raise ConfigError("--from draws the studies its files hold: give no study names "
                              "or --all with it")
        texts = []
        for src in sources:
            if not src.is_file():
                raise ConfigError(f"--from: no file '{src}'")
            texts.append((str(src), src.read_text(encoding="utf-8")))
        for src in sources:
            check_output(target, "output", store=src, ours=ours)
        findings = findings_from_json(texts)
        command = (f"layerorder study report {' '.join(f'--from {x}' for x in sources)} "
                   f"--format {fmt.value} -o {target}")
    else:
        studies = _studies(names, every)
        for s in studies:
            s.scale(scale)
        if not store_exists(store):
            raise ConfigError(
                f"no store at '{store}'; run 'layerorder study run' first or pass --store"
            )
        check_output(target, "output", store=as_file(store), ours=ours)
        from layerorder.studies.family import evaluate_findings

        findings = evaluate_findings(studies, scale, store)
        which = "--all" if every else " ".join(names)
        command = (f"layerorder study report {which} --scale {scale} --store {argument(store)} "
                   f"--format {fmt.value} -o {target}")
    if fmt == FindingsFormat.md:
        files = render_findings_markdown(findings, target, command)
    else:
        render = render_findings_json if fmt == FindingsFormat.json else render_findings_html
        atomic_write_text(target, render(findings, command))
        files = [target]
    for r in findings.results:
        _print_verdicts(r)
    err.print(f"wrote {files[0]}" + (f" and {len(files) - 1} figures" if len(files) > 1 else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
