"""Each setting is declared once; the CLI options, TOML keys, checks and keys derive from it."""

import dataclasses
import typing
from html import escape

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import ExperimentConfig, RunConfig, make_config
from layerorder.experiment.configuration.settings import (
    ANALYSIS,
    AXIS,
    BY_NAME,
    EXECUTION,
    RUN,
    SETTINGS,
    AnalysisSettings,
    ExecutionSettings,
    Grid,
    RunSettings,
    format_default,
)


def test_config_fields_are_the_settings_in_order():
    names = [f.name for f in dataclasses.fields(ExperimentConfig)]
    # one derived field, the fingerprint of a user's code, is not a setting
    assert [n for n in names if n != "code_hash"] == [s.name for s in SETTINGS]
    assert "code_hash" not in BY_NAME
    cfg = ExperimentConfig()
    assert all(getattr(cfg, s.name) == s.default for s in SETTINGS)


def test_the_config_is_its_four_typed_parts():
    """Each field is declared once, in one part, with a real type; the role comes from the part
    and the config splits back into the parts it is made of."""
    parts = {RunSettings: RUN, Grid: AXIS, ExecutionSettings: EXECUTION, AnalysisSettings: ANALYSIS}
    seen = []
    for part, role in parts.items():
        hints = typing.get_type_hints(part)
        for f in dataclasses.fields(part):
            assert hints[f.name] is not typing.Any, f.name
            if f.name == "code_hash":  # derived from the user's code, not a setting
                continue
            assert BY_NAME[f.name].role == role and BY_NAME[f.name].help == (
                f.metadata["setting"].help)
            seen.append(f.name)
    assert sorted(seen) == sorted(s.name for s in SETTINGS)  # every setting in exactly one part
    cfg = make_config({"epochs": 3, "workers": 1, "margin": 0.3, "seeds": 2})
    assert cfg.part(RunSettings).epochs == 3 and cfg.part(Grid).seeds == (0, 1)
    assert cfg.part(ExecutionSettings) == ExecutionSettings(workers=1)
    assert cfg.part(AnalysisSettings) == AnalysisSettings(margin=0.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 4
    run = cfg.runs()[0]
    assert isinstance(run, RunSettings) and not isinstance(run, Grid)
    assert typing.get_type_hints(RunConfig)["seed"] is int


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
    from layerorder.experiment.configuration.config import load_toml, merge_config
    from layerorder.experiment.execution.runner import run_specs
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


def test_adam_eps_end_to_end(tmp_path, capsys):
    """A setting added by one field of ``RunSettings`` (and its one use in the optimizer): the
    ``compare`` and ``probe`` flag, the TOML key, the Python keyword, its check, the note where
    it has no effect, the run key (unchanged at its default) and the report's table."""
    import layerorder
    from layerorder.cli.options import settings_for
    from layerorder.experiment.configuration.config import load_toml, merge_config
    from layerorder.experiment.execution.runner import run_specs
    from tests.helpers import TINY, run_cli

    assert all("adam_eps" in {s.name for s in settings_for(c)} for c in ("compare", "probe"))
    toml = tmp_path / "exp.toml"
    toml.write_text("adam_eps = 1e-6\n")
    from_file = merge_config(load_toml(toml), {}, "'exp.toml'")
    assert from_file.adam_eps == make_config({"adam_eps": "1e-6"}).adam_eps == 1e-6
    assert run_specs(from_file)[0].config["adam_eps"] == 1e-6
    assert "adam_eps" not in run_specs(ExperimentConfig())[0].config  # old keys unchanged
    with pytest.raises(ConfigError, match="adam_eps must be a number > 0"):
        make_config({"adam_eps": 0})
    sgd = make_config({"adam_eps": 1e-6, "optimizer": "sgd"})
    assert "adam_eps" not in run_specs(sgd)[0].config
    assert any(n.startswith("adam_eps = 1e-06 applies to Adam") for n in sgd.not_applied())
    db, page = tmp_path / "s.db", tmp_path / "r.html"
    code, _, err = run_cli(capsys, "compare", *TINY, "--order", "standard", "--seeds", "1",
                           "--adam-eps", "1e-6", "--store", db, "--report-path", page)
    assert code == 0, err
    assert "adam_eps" in page.read_text() and escape(BY_NAME["adam_eps"].help) in page.read_text()
    again = layerorder.compare(dataset="synthetic", arch="mlp", width=16, epochs=2,
                               batch_size=64, executor="sequential", orders="standard", seeds=1,
                               adam_eps=1e-6, store=db, progress=False)
    assert again.trained == 0 and again.runs[0].config["adam_eps"] == 1e-6
