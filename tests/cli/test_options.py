"""The command line's options derive from the settings' declaration and the flag facts in
``layerorder.cli.options``."""

import pytest
import typer

from layerorder.cli.app import app
from layerorder.cli.options import COMMANDS, cli_flags, settings_for
from layerorder.experiment.configuration.settings import BY_NAME, SETTINGS


def _options(command: str) -> dict[str, object]:
    click = typer.main.get_command(app).commands[command]
    return {p.name: p for p in click.params}


@pytest.mark.parametrize("command", ["compare", "probe"])
def test_every_setting_of_a_command_is_an_option_with_its_help(command):
    options = _options(command)
    shown = settings_for(command)
    assert shown
    for s in shown:
        opt = options[s.name]
        assert opt.opts[0] == cli_flags(s)[0], s.name
        assert s.help.rstrip(".") in opt.help and "default:" in opt.help


def test_probe_shows_its_own_defaults():
    options = _options("probe")
    assert "default: standard, act-first" in options["orders"].help
    assert "default: 5" in options["epochs"].help
    assert "default: 20" in _options("compare")["epochs"].help


def test_each_command_shows_the_settings_it_decides():
    """The sets each command showed before the flag facts moved here, pinned."""
    assert set(COMMANDS["compare"]) == {s.name for s in SETTINGS}
    assert COMMANDS["report"] == {"margin", "baseline", "metric", "goal", "metric_range"}
    assert COMMANDS["study"] == {"device", "executor", "stack_mode", "workers", "ray_address",
                                 "cpus_per_run", "gpus_per_run", "max_retries", "lease",
                                 "slurm_partition", "slurm_minutes", "slurm_cluster"}
    assert COMMANDS["probe"] == {
        "dataset", "data_options", "arch", "model", "width", "heads", "depth", "orders",
        "epochs", "batch_size", "optimizer", "lr", "warmup", "schedule", "weight_decay",
        "momentum", "nesterov", "beta2", "adam_eps", "label_smoothing", "grad_clip", "p_drop",
        "dropout_at", "final_norm", "amp", "device", "probe_every"}
    assert COMMANDS["search"] == COMMANDS["compare"] - {
        "orders", "seeds", "until_decided", "max_seeds", "vary", "baseline", "name"}
    assert all(BY_NAME[n].role == "execution" for n in COMMANDS["study"])
