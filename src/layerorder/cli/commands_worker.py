"""``layerorder worker``: a pull worker that trains runs from a shared store until none is left."""

from __future__ import annotations

import typer

from layerorder.cli.console import err, out, print_json
from layerorder.cli.options import store_option
from layerorder.experiment.configuration.settings import DEVICES
from layerorder.store import DEFAULT_LEASE


def worker(
    store: str = store_option(),
    experiment: str = typer.Option(
        None, "--experiment", "-e", help="Train only this experiment's runs (name or id)."),
    study: str = typer.Option(None, "--study", help="Train only this study's runs."),
    max_runs: int = typer.Option(None, "--max-runs", min=1, help="Stop after this many runs."),
    idle_exit: str = typer.Option(
        "0", "--idle-exit",
        help="Wait this long for new runs (60s, 5m) once none is left, for a coordinator's next"
        " round (and for a store not created yet); 0: stop at once."),
    device: str = typer.Option("auto", "--device", help=f"{', '.join(DEVICES)}."),
    lease: float = typer.Option(
        DEFAULT_LEASE, "--lease", min=2.0,
        help="Seconds the run held stays reserved without a heartbeat."),
    run_timeout: float = typer.Option(
        None, "--run-timeout", help="Seconds a --command run may take; longer is failed."),
    as_json: bool = typer.Option(False, "--json", help="Print what the worker did as JSON."),
) -> None:
    """Claim runs from a shared store and train them until none is left (then exit).

    Start any number, on any hosts, against one store (a PostgreSQL URL for several hosts):
    each run is trained once, and a worker that is killed loses only the run it held, which
    another worker takes over when its lease runs out. The runs come from compare with
    --plan-only (which stores a grid and trains nothing), or from a coordinator: compare with
    --executor workers.
    """
    from layerorder.durations import seconds
    from layerorder.experiment.execution.progress import LineObserver
    from layerorder.experiment.execution.pull import work
    from layerorder.studies.spec import experiment_prefix

    if device not in DEVICES:
        raise typer.BadParameter(f"'{device}' is not one of {', '.join(DEVICES)}",
                                 param_hint="'--device'")
    if experiment is not None and study is not None:
        raise typer.BadParameter("give --experiment or --study, not both",
                                 param_hint="'--study'")
    idle = seconds(idle_exit, "--idle-exit")
    summary = work(store, experiment=experiment,
                   prefix=experiment_prefix(study) if study is not None else None,
                   max_runs=max_runs, idle_exit=idle, device=device, lease=lease,
                   run_timeout=run_timeout, observer=LineObserver(err))
    if as_json:
        print_json({"owner": summary.owner, "trained": summary.trained,
                    "experiments": list(summary.experiments), "stopped": summary.stopped})
        return
    out.print(f"worker {summary.owner}: trained {summary.trained} run"
              f"{'s' * (summary.trained != 1)}; stopped: {summary.stopped}", markup=False,
              soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(worker)
