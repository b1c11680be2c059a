"""``layerorder compare``: train orders side by side over many seeds and give a verdict."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from layerorder.cli.console import err, out, print_json
from layerorder.cli.progress import RichObserver
from layerorder.cli.render import analysis_dict, print_analysis
from layerorder.errors import ConfigError
from layerorder.experiment.config import ExperimentConfig, load_toml, merge_config
from layerorder.experiment.executors import plan
from layerorder.experiment.runner import run_specs, run_sweep
from layerorder.experiment.validate import validate
from layerorder.experiment.worker import resolve_device
from layerorder.report import write_report
from layerorder.stats.analysis import analyze
from layerorder.store import Store

DEFAULT_STORE = "layerorder.db"


def parse_data_opts(items: list[str] | None) -> dict | None:
    if not items:
        return None
    opts = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--data-opt takes KEY=VALUE, got '{item}' (e.g. num_samples=10000)")
        opts[key.strip()] = value.strip()
    return opts


def build_config(config_file: Path | None, flags: dict) -> ExperimentConfig:
    file_values = load_toml(config_file) if config_file is not None else {}
    source = f"'{config_file}'" if config_file is not None else "options"
    if flags.get("orders"):
        flags["orders"] = [o for item in flags["orders"] for o in item.split(",") if o.strip()]
    config = merge_config(file_values, flags, source)
    validate(config)
    return config


def compare(
    config_file: Path = typer.Option(
        None, "--config", help="TOML file with settings (flags override it)."
    ),
    name: str = typer.Option(None, help="Experiment name (default: default)."),
    dataset: str = typer.Option(
        None, "--dataset", "-d", help="Data set (default: mnist1d); see 'layerorder datasets'."
    ),
    data_opt: list[str] = typer.Option(
        None, "--data-opt", help="Data set option KEY=VALUE (repeatable)."
    ),
    arch: str = typer.Option(
        None, "--arch", "-a", help="mlp, cnn1d, cnn2d or resnet (default: cnn1d)."
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help=(
            "Your own model, path/to/file.py:factory or package.module:factory, rewritten to"
            " each --order ('as-is' keeps it unchanged). Loading it runs its code."
        ),
    ),
    width: int = typer.Option(None, help="Model width (default: per arch)."),
    depth: int = typer.Option(None, help="Model depth (default: per arch)."),
    order: list[str] = typer.Option(
        None,
        "--order",
        "-o",
        help=(
            "Order spec or preset (repeatable or comma-separated)"
            " (default: standard, act-first, preact, drop-before-bn, no-norm)."
        ),
    ),
    seeds: str = typer.Option(None, help="Number of seeds, or a list like 0,3,7 (default: 5)."),
    epochs: int = typer.Option(None, help="Training epochs per run (default: 20)."),
    batch_size: int = typer.Option(None, help="Batch size (default: 100)."),
    optimizer: str = typer.Option(None, help="sgd, adam or adamw (default: adam)."),
    lr: str = typer.Option(
        None, help="Learning rate, or a comma-separated LR sweep (default: 0.01)."
    ),
    schedule: str = typer.Option(
        None, help="onecycle, cosine, step or constant (default: onecycle)."
    ),
    weight_decay: float = typer.Option(None, help="Weight decay (default: 0)."),
    momentum: float = typer.Option(None, help="SGD momentum (default: 0.9)."),
    label_smoothing: float = typer.Option(None, help="Label smoothing (default: 0)."),
    p_drop: float = typer.Option(None, help="Dropout probability (default: 0.1)."),
    device: str = typer.Option(None, help="auto, cpu or cuda (default: auto)."),
    executor: str = typer.Option(
        None, help="auto, sequential, process, stacked or ray (default: auto)."
    ),
    workers: int = typer.Option(
        None, help="Worker processes for --executor process (default: one per core)."
    ),
    probe: bool = typer.Option(
        None,
        "--probe/--no-probe",
        help="Record stage statistics, gradient flow and BN variance shift every epoch.",
    ),
    amp: bool = typer.Option(
        None,
        "--amp/--no-amp",
        help="bfloat16 autocast of forward and loss (changes results: part of the run key).",
    ),
    compile_model: bool = typer.Option(
        None,
        "--compile/--no-compile",
        help="torch.compile each model; measure first (on small CPU models it seldom gains).",
    ),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="Ray cluster to use with --executor ray (default: RAY_ADDRESS, or a local Ray).",
    ),
    cpus_per_run: float = typer.Option(
        None, "--cpus-per-run", help="CPUs per run on Ray (fractions allowed) (default: 1)."
    ),
    gpus_per_run: float = typer.Option(
        None, "--gpus-per-run", help="GPUs per run on Ray (fractions allowed) (default: 0)."
    ),
    max_retries: int = typer.Option(
        None, "--max-retries", help="Retries of a Ray task whose worker died (default: 2)."
    ),
    store: Path = typer.Option(Path(DEFAULT_STORE), help="SQLite store file (created if missing)."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Start a new experiment instead of resuming."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the grid of runs and exit."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    report: bool = typer.Option(
        True, "--report/--no-report", help="Write the HTML report at the end."
    ),
    report_path: Path = typer.Option(
        Path("layerorder-report.html"), "--report-path", help="Where --report writes the page."
    ),
) -> None:
    """Train several orders over many seeds, store every run, and give a verdict.

    With no arguments: MNIST-1D, cnn1d, the five presets, 5 seeds, 20 epochs. Running the same
    command again trains only what is missing (a killed sweep resumes).
    """
    flags = {
        "name": name,
        "dataset": dataset,
        "data_options": parse_data_opts(data_opt),
        "arch": arch,
        "model": model,
        "width": width,
        "depth": depth,
        "orders": order or None,
        "seeds": seeds,
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": optimizer,
        "lr": lr,
        "schedule": schedule,
        "weight_decay": weight_decay,
        "momentum": momentum,
        "label_smoothing": label_smoothing,
        "p_drop": p_drop,
        "probe": probe,
        "amp": amp,
        "compile": compile_model,
        "device": device,
        "executor": executor,
        "workers": workers,
        "ray_address": ray_address,
        "cpus_per_run": cpus_per_run,
        "gpus_per_run": gpus_per_run,
        "max_retries": max_retries,
    }
    config = build_config(config_file, flags)
    if report and (report_path.is_dir() or not report_path.parent.exists()):
        raise ConfigError(
            f"--report-path '{report_path}' is a folder or its folder does not exist;"
            " give a file name like report.html"
        )
    if dry_run:
        _print_grid(config)
        return
    with Store.open(store) as db:
        observer = RichObserver()
        with observer:
            summary = run_sweep(config, db, fresh=fresh, observer=observer)
        runs = [r for r in db.runs(summary.experiment.id) if r.id in set(summary.run_ids)]
    analysis = analyze(runs)
    written = None
    if report:
        written = write_report(store, report_path, experiment=str(summary.experiment.id))[0]
    if as_json:
        print_json(
            {
                "experiment": summary.experiment.name,
                "experiment_id": summary.experiment.id,
                "store": str(store),
                "trained_now": summary.trained,
                "report": str(written) if written else None,
                **analysis_dict(analysis),
            }
        )
        return
    n = len(config.seeds)
    title = f"{config.dataset} / {config.arch}: final test accuracy over {n} seed{'s' * (n > 1)}"
    print_analysis(analysis, title)
    err.print(
        f"stored in {store} (experiment '{summary.experiment.name}', id {summary.experiment.id})",
        markup=False,
    )
    if written is not None:
        err.print(f"report: {written}", markup=False)


def _print_grid(config: ExperimentConfig) -> None:
    specs = run_specs(config)
    table = Table(
        title=f"{len(specs)} runs: {config.dataset} / {config.arch}, {config.epochs} epochs"
    )
    for col in ("#", "order", "seed", "lr", "run key"):
        table.add_column(col)
    for i, spec in enumerate(specs, 1):
        table.add_row(str(i), escape(spec.label), str(spec.seed), f"{spec.lr:g}", spec.run_key)
    out.print(table)
    device = resolve_device(config.device)
    out.print(
        f"device {device}; {plan(config.executor, config.workers, len(specs), device).describe()}"
    )


def register(app: typer.Typer) -> None:
    app.command()(compare)
