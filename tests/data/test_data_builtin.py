"""The bundled data sets: shapes, dtypes, normalisation, splits, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from layerorder.data import CACHE_ENV_VAR, DatasetError, builtin, get_dataset_info, load_dataset
from layerorder.data.arrays import stratified_split
from layerorder.data.base import format_size

CASES = {
    # name: (options, in_shape, num_classes, n_train, n_test)
    "mnist1d": ({"num_samples": 500}, (1, 40), 10, 400, 100),
    "mnist5k": ({}, (1, 28, 28), 10, 4000, 1000),
    "digits": ({}, (1, 8, 8), 10, 1438, 359),
    "synthetic": ({}, (1, 8, 8), 4, 408, 104),
}


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("cache")
        patch.setenv(CACHE_ENV_VAR, str(directory))
        builtin.clear_memory_cache()
        yield directory
    builtin.clear_memory_cache()


@pytest.fixture(scope="module")
def loaded():
    return {name: load_dataset(name, **case[0]) for name, case in CASES.items()}


@pytest.mark.parametrize("name", CASES)
def test_shapes_and_dtypes(loaded, name):
    _, in_shape, num_classes, n_train, n_test = CASES[name]
    data = loaded[name]
    assert data.name == name
    assert data.in_shape == in_shape and data.num_classes == num_classes
    assert data.x_train.shape == (n_train, *in_shape)
    assert data.x_test.shape == (n_test, *in_shape)
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert x.dtype == torch.float32 and x.is_contiguous()
        assert y.dtype == torch.int64 and y.is_contiguous()
        assert torch.isfinite(x).all()
        assert set(y.tolist()) == set(range(num_classes))
    assert data.options["seed"] == 0


@pytest.mark.parametrize("name", CASES)
def test_train_split_is_normalised_per_channel(loaded, name):
    x = loaded[name].x_train
    dims = [0, *range(2, x.ndim)]
    assert torch.allclose(x.mean(dim=dims), torch.zeros(x.shape[1]), atol=1e-4)
    assert torch.allclose(x.std(dim=dims, correction=0), torch.ones(x.shape[1]), atol=1e-4)


def test_normalisation_uses_train_statistics_for_test():
    data = load_dataset("synthetic", channels=3, size=5, noise=0.3)
    dims = [0, 2, 3]
    assert torch.allclose(data.x_train.mean(dim=dims), torch.zeros(3), atol=1e-4)
    # the test split is shifted by train statistics, so it is only roughly standardised
    assert not torch.allclose(data.x_test.mean(dim=dims), torch.zeros(3), atol=1e-6)
    assert torch.allclose(data.x_test.mean(dim=dims), torch.zeros(3), atol=0.5)


@pytest.mark.parametrize("name", ["mnist5k", "digits", "synthetic"])
def test_info_matches_default_load(loaded, name):
    info, data = get_dataset_info(name), loaded[name]
    assert info.in_shape == data.in_shape and info.num_classes == data.num_classes
    assert info.size == format_size(data.num_train, data.num_test)
    assert info.description == data.description and info.source == data.source


def test_summary(loaded):
    text = loaded["mnist5k"].summary()
    assert text == "mnist5k: 4,000 train / 1,000 test, input (1, 28, 28), 10 classes"


def test_mnist5k_split_is_stratified_fixed_and_seed_independent(loaded):
    data = loaded["mnist5k"]
    assert torch.bincount(data.y_train).tolist() == [400] * 10
    assert torch.bincount(data.y_test).tolist() == [100] * 10
    builtin.clear_memory_cache()  # reload from the disk cache
    again = load_dataset("mnist5k", seed=7)
    assert torch.equal(again.x_train, data.x_train) and torch.equal(again.y_test, data.y_test)
    assert again.options["seed"] == 7
    # pixels were scaled to [0, 1] before normalising: the minimum is the background
    assert torch.allclose(data.x_train.min(), data.x_test.min())


def test_digits_split_is_stratified(loaded):
    data = loaded["digits"]
    totals = torch.bincount(data.y_train) + torch.bincount(data.y_test)
    expected_test = [int(round(0.2 * n)) for n in totals.tolist()]
    assert torch.bincount(data.y_test).tolist() == expected_test


def test_stratified_split_partitions_the_indices():
    y = np.repeat(np.arange(3), [10, 20, 31])
    train, test = stratified_split(y, 0.2, np.random.default_rng(5))
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    assert np.bincount(y[test]).tolist() == [2, 4, 6]
    assert not np.array_equal(np.sort(train), train)  # shuffled, classes interleaved


def test_synthetic_same_seed_same_tensors_other_seed_differs():
    first, again = load_dataset("synthetic", seed=3), load_dataset("synthetic", seed=3)
    other = load_dataset("synthetic", seed=4)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(first, field), getattr(again, field))
    assert not torch.equal(first.x_train, other.x_train)


def test_synthetic_options_shape_the_data():
    data = load_dataset("synthetic", num_samples="300", num_classes=3, size=6, channels=2)
    assert data.in_shape == (2, 6, 6) and data.num_classes == 3
    assert data.num_train + data.num_test == 300
    assert data.options == {
        "num_samples": 300,
        "num_classes": 3,
        "size": 6,
        "channels": 2,
        "noise": 1.0,
        "seed": 0,
    }


def test_synthetic_is_learnable_but_not_trivial(loaded):
    data = loaded["synthetic"]
    x, xt = data.x_train.flatten(1), data.x_test.flatten(1)
    means = torch.stack([x[data.y_train == k].mean(0) for k in range(data.num_classes)])
    accuracy = (torch.cdist(xt, means).argmin(1) == data.y_test).float().mean().item()
    assert 0.5 < accuracy < 0.98


def test_synthetic_too_few_samples_per_class():
    with pytest.raises(DatasetError, match="too few for 10 classes"):
        load_dataset("synthetic", num_samples=20, num_classes=10)


def test_loaded_tensors_do_not_share_memory_with_the_cache():
    first = load_dataset("digits")
    first.y_train.fill_(0)
    first.x_train.fill_(0)
    again = load_dataset("digits")
    assert again.y_train.max() == 9 and again.x_train.abs().sum() > 0
