"""Each setting is declared once; the CLI options, TOML keys, checks and keys derive from it."""

import dataclasses
from html import escape

import pytest
import typer

from layerorder.cli.app import app
from layerorder.errors import ConfigError
from layerorder.experiment.config import ExperimentConfig, make_config
from layerorder.experiment.settings import BY_NAME, SETTINGS, format_default


def _options(command: str) -> dict[str, object]:
    click = typer.main.get_command(app).commands[command]
    return {p.name: p for p in click.params}


def test_config_fields_are_the_settings_in_order():
    names = [f.name for f in dataclasses.fields(ExperimentConfig)]
    assert names == [s.name for s in SETTINGS]
    cfg = ExperimentConfig()
    assert all(getattr(cfg, s.name) == s.default for s in SETTINGS)


@pytest.mark.parametrize("command", ["compare", "probe"])
def test_every_setting_of_a_command_is_an_option_with_its_help(command):
    options = _options(command)
    shown = [s for s in SETTINGS if command in s.commands]
    assert shown
    for s in shown:
        opt = options[s.name]
        assert opt.opts[0] == s.cli_flags[0], s.name
        assert s.help.rstrip(".") in opt.help and "default:" in opt.help


def test_probe_shows_its_own_defaults():
    options = _options("probe")
    assert "default: standard, act-first" in options["orders"].help
    assert "default: 5" in options["epochs"].help
    assert "default: 20" in _options("compare")["epochs"].help


def test_every_setting_is_a_toml_key_and_checked():
    for s in SETTINGS:
        assert make_config({s.name: s.default}) == ExperimentConfig(), s.name


@pytest.mark.parametrize(
    "values,fragment",
    [
        ({"grad_clip": -1}, "grad_clip must be a number >= 0"),
        ({"grad_clip": "x"}, "grad_clip must be a number"),
        ({"optimizer": "adm"}, "did you mean 'adam'"),
        ({"gradclip": 1}, "did you mean 'grad_clip'"),
        ({"name": 5}, "name must be a string"),
        ({"model": object()}, "model must be a target string"),
        ({"lr": "0.1,,0.2"}, "lr has an empty entry"),
        ({"lr": "0.1, 0.2"}, None),
    ],
)
def test_checks_name_the_setting(values, fragment):
    if fragment is None:
        assert make_config(values).lr == (0.1, 0.2)
        return
    with pytest.raises(ConfigError, match=fragment):
        make_config(values)


def test_format_default():
    assert format_default(None) == "none" and format_default(True) == "on"
    assert format_default((0.01,)) == "0.01" and BY_NAME["grad_clip"].default == 0.0


def test_grad_clip_end_to_end(tmp_path, capsys):
    """A setting added through the declaration alone: CLI flag, TOML key, check, run key and the
    report's configuration table."""
    from layerorder.experiment.config import load_toml, merge_config
    from layerorder.experiment.runner import run_specs
    from tests.helpers import tiny_store

    toml = tmp_path / "exp.toml"
    toml.write_text("grad_clip = 0.5\n")
    from_file = merge_config(load_toml(toml), {}, "'exp.toml'")
    from_flag = make_config({"grad_clip": "0.5"})
    assert from_file.grad_clip == from_flag.grad_clip == 0.5
    assert run_specs(from_file)[0].run_key == run_specs(from_flag)[0].run_key
    assert run_specs(from_file)[0].config["grad_clip"] == 0.5
    page = tmp_path / "r.html"
    tiny_store(capsys, tmp_path / "s.db", "--grad-clip", "0.5", "--report-path", page)
    html = page.read_text()
    assert "grad_clip" in html and escape(BY_NAME["grad_clip"].help) in html


def test_probe_takes_one_seed_and_one_learning_rate():
    import layerorder

    with pytest.raises(ConfigError, match="one seed per order"):
        layerorder.probe_orders(seeds=3)
    with pytest.raises(ConfigError, match="one learning rate"):
        layerorder.probe_orders(lr=[0.01, 0.1], dataset="synthetic", epochs=1)
