"""A report of a user's own model and data: the configuration lists the settings that applied
(the orders, seeds and learning rates too) and leaves out those that did not; titles name the
data and the model as the user did, and the provenance keeps their fingerprints."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

import layerorder
from layerorder.data import DatasetError
from layerorder.report import build_info
from layerorder.report.html import render_html
from layerorder.store import Store


def make_small_model():
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def _arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    y = (x[:, :3]).argmax(1)
    return x[:90], y[:90], x[90:], y[90:]


def _compare(tmp_path, **settings):
    return layerorder.compare(
        data=_arrays(), model=make_small_model, orders=["as-is", "linear-relu-bn"], seeds=2,
        epochs=1, batch_size=30, executor="sequential", store=tmp_path / "s.db", progress=False,
        **settings)


def _config(results) -> dict[str, str]:
    with Store.open(results.store, create=False) as db:
        info = build_info(db, results.experiment)
    return info, {row.setting: row.value for row in info.config}


def test_the_configuration_lists_what_applied_and_titles_use_the_users_names(tmp_path):
    results = _compare(tmp_path, data_name="blobs")
    info, config = _config(results)
    assert config["orders"] == "as-is, linear-relu-bn"
    assert config["seeds"] == "0, 1" and config["lr"] == "0.01"  # the declared default
    assert config["optimizer"] == "adam"
    for absent in ("arch", "width", "depth", "momentum"):  # the user's model, under Adam
        assert absent not in config
    assert config["dataset"] == "blobs" and config["model"] == "make_small_model"
    assert results.table.title.startswith("blobs / make_small_model")
    assert info.provenance["dataset"].startswith("memory:blobs@")
    assert info.provenance["model"].startswith("python:make_small_model@")
    page = render_html(info)
    assert "memory:blobs@" in page  # in the provenance only
    assert page.count("memory:blobs@") == 1


def test_sgd_shows_its_momentum_and_unnamed_arrays_are_your_arrays(tmp_path):
    results = _compare(tmp_path, optimizer="sgd", lr=0.05)
    _, config = _config(results)
    assert config["momentum"] == "0.9"
    assert config["dataset"] == "your arrays"
    assert results.table.title.startswith("your arrays / make_small_model")


@pytest.mark.parametrize("name", ["", "a b", "../x", "x" * 101, 3])
def test_a_bad_data_name_is_refused_in_one_line(name, tmp_path):
    with pytest.raises(DatasetError, match="data_name must be"):
        _compare(tmp_path, data_name=name)


def test_a_data_name_without_data_is_refused():
    with pytest.raises(layerorder.ConfigError, match="data_name names the arrays"):
        layerorder.compare_plan(data_name="blobs")


def test_a_setting_that_matters_for_some_runs_of_a_factor_is_listed(tmp_path):
    """With the optimizer varied, SGD's runs use momentum: it is listed though the grid's own
    settings (which leave the varied field out) read as Adam's."""
    _, config = _config(_compare(tmp_path, vary={"optimizer": ["sgd", "adam"]}))
    assert config["momentum"] == "0.9" and config["vary"] == "optimizer"
