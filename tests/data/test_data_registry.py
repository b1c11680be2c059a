"""The registry: names, info, errors with suggestions, option coercion."""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch

from layerorder.data import (
    Dataset,
    DatasetEntry,
    DatasetError,
    OptionSpec,
    check_dataset,
    get_dataset_info,
    list_datasets,
    load_dataset,
    register_dataset,
    registry,
)
from layerorder.data.arrays import build_dataset
from layerorder.data.options import coerce_options, coerce_value
from layerorder.errors import LayerorderError

ALL_NAMES = [
    "mnist1d",
    "mnist5k",
    "digits",
    "synthetic",
    "brackets",
    "modsum",
    "cifar10",
    "mnist",
    "fashion-mnist",
    "imagefolder:PATH",
]


def test_list_datasets_has_every_name_and_requirements():
    infos = {info.name: info for info in list_datasets()}
    # arrays another test registered in this process come after the built-in sets
    assert [n for n in infos if not n.startswith("memory:")] == ALL_NAMES
    assert infos["mnist1d"].requires is None
    for name in ("cifar10", "mnist", "fashion-mnist", "imagefolder:PATH"):
        assert infos[name].requires == "torchvision"
    for info in infos.values():
        assert info.description and info.source and info.size
        assert "\n" not in info.description


def test_unknown_name_suggests_the_closest():
    message = "unknown data set 'mnsit1d'; did you mean 'mnist1d'?"
    with pytest.raises(DatasetError, match=re.escape(message)):
        get_dataset_info("mnsit1d")
    with pytest.raises(DatasetError, match="unknown data set 'zzz'; choose one of"):
        load_dataset("zzz")


def test_error_types():
    assert issubclass(DatasetError, ValueError) and issubclass(DatasetError, LayerorderError)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("MNIST1D", "mnist1d"), (" fashion_mnist ", "fashion-mnist"), ("Digits", "digits")],
)
def test_names_are_normalised(given, canonical):
    assert get_dataset_info(given).name == canonical


def test_info_is_a_fresh_copy():
    info = get_dataset_info("synthetic")
    info.options["num_samples"] = 1
    assert get_dataset_info("synthetic").options["num_samples"] == 512


def test_unknown_option_suggests_the_closest():
    message = "unknown option 'num_sample' for data set 'mnist1d'; did you mean 'num_samples'?"
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset("mnist1d", num_sample=1000)
    with pytest.raises(DatasetError, match="choose one of: channels, noise, num_classes"):
        load_dataset("synthetic", colour=True)
    with pytest.raises(DatasetError, match="data set 'digits' has none"):
        load_dataset("digits", num_samples=10)


@pytest.mark.parametrize("seed", [-1, "x", 1.5, True, 2**32])
def test_bad_seed(seed):
    with pytest.raises(DatasetError, match="option 'seed'"):
        load_dataset("synthetic", seed=seed)


def test_string_options_are_coerced_like_the_defaults():
    specs = (
        OptionSpec("n", 5, int, minimum=1),
        OptionSpec("rate", 0.5, float),
        OptionSpec("flag", False, bool),
        OptionSpec("path", None, str),
    )
    given = {"n": "12", "rate": "1e-3", "flag": "TRUE", "path": "/tmp/x"}
    assert coerce_options("demo", specs, given) == {
        "n": 12,
        "rate": 0.001,
        "flag": True,
        "path": "/tmp/x",
    }
    assert coerce_options("demo", specs, {"n": 3.0})["n"] == 3
    assert coerce_options("demo", specs, {})["path"] is None


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (bool, "yes", True),
        (bool, "off", False),
        (bool, 0, False),
        (int, " 2000 ", 2000),
        (float, 3, 3.0),
        (str, 7, None),
        (bool, "maybe", None),
        (int, "1.5", None),
        (int, False, None),
        (float, "x", None),
    ],
)
def test_coerce_value(kind, value, expected):
    spec = OptionSpec("opt", kind(), kind)
    if expected is None:
        with pytest.raises(DatasetError, match="option 'opt' of data set 'demo' must be"):
            coerce_value("demo", spec, value)
    else:
        assert coerce_value("demo", spec, value) == expected


def test_dash_spelling_of_an_option():
    data = load_dataset("synthetic", **{"num-samples": "100"})
    assert data.options["num_samples"] == 100


def _tiny_loader(info, seed, options):
    x = torch.arange(12.0).reshape(6, 2)
    y = torch.tensor([0, 1, 0, 1, 0, 1])
    return build_dataset(
        info,
        x_train=x[:4],
        y_train=y[:4],
        x_test=x[4:],
        y_test=y[4:],
        in_shape=(1, 2),
        num_classes=2,
        options={**options, "seed": seed},
    )


def test_register_a_custom_data_set(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    entry = DatasetEntry(
        name="tiny",
        description="six numbers",
        source="a test",
        in_shape=(1, 2),
        num_classes=2,
        size="4 train / 2 test",
        specs=(OptionSpec("scale", 1.0, float),),
        loader=_tiny_loader,
    )
    register_dataset(entry)
    data = load_dataset("tiny", seed=2, scale="2")
    assert data.summary() == "tiny: 4 train / 2 test, input (1, 2), 2 classes"
    assert data.options == {"scale": 2.0, "seed": 2}
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(entry)
    assert "tiny" in [info.name for info in list_datasets()]


def test_dataset_checks_its_shapes():
    x, y = torch.zeros(4, 1, 3), torch.zeros(4, dtype=torch.int64)
    with pytest.raises(DatasetError, match="x_train has sample shape"):
        Dataset("bad", x, y, x, y, (1, 4), 2, "d", "s")
    with pytest.raises(DatasetError, match="y_test must have shape"):
        Dataset("bad", x, y, x, y[:3], (1, 3), 2, "d", "s")


def test_check_dataset_validates_without_loading(monkeypatch):
    def no_loading(*args):
        raise AssertionError("check_dataset loaded data")

    entry = registry._REGISTRY["mnist1d"]
    monkeypatch.setitem(
        registry._REGISTRY, "mnist1d", dataclasses.replace(entry, loader=no_loading)
    )
    info = check_dataset("MNIST1D", num_samples="2000")
    assert info.name == "mnist1d"
    assert info.options == {"num_samples": 2000, "corr_noise": 0.25, "iid_noise": 0.02, "patch": 1}
    with pytest.raises(DatasetError, match="patch must divide the signal's 40 samples"):
        check_dataset("mnist1d", patch=7)  # the check runs without loading too
    with pytest.raises(DatasetError, match="did you mean 'num_samples'"):
        check_dataset("mnist1d", num_sample=2000)
    with pytest.raises(DatasetError, match="too few for 10 classes"):
        check_dataset("synthetic", num_samples=20, num_classes=10)
    with pytest.raises(DatasetError, match="did you mean 'digits'"):
        check_dataset("digit")
