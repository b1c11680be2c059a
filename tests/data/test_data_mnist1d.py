"""mnist1d: equal to the package's own output, and cached on disk (best effort)."""

from __future__ import annotations

import random

import mnist1d.data
import numpy as np
import pytest
import torch

from layerorder.data import CACHE_ENV_VAR, DatasetError, builtin, get_dataset_info, load_dataset
from layerorder.data.arrays import channel_stats
from layerorder.data.base import format_size


@pytest.fixture(scope="module")
def default_pair(tmp_path_factory):
    """(mnist1d's make_dataset at default args, load_dataset('mnist1d'), cache folder)."""
    reference = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("cache")
        patch.setenv(CACHE_ENV_VAR, str(directory))
        builtin.clear_memory_cache()
        loaded = load_dataset("mnist1d")
    builtin.clear_memory_cache()
    return reference, loaded, directory


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    builtin.clear_memory_cache()
    yield tmp_path / "cache"
    builtin.clear_memory_cache()


def test_default_equals_published_mnist1d(default_pair):
    reference, data, _ = default_pair
    assert data.options == {"num_samples": 5000, "seed": 0, "mnist1d_seed": 42}
    assert torch.equal(data.y_train, torch.from_numpy(reference["y"]))
    assert torch.equal(data.y_test, torch.from_numpy(reference["y_test"]))
    x_train = torch.from_numpy(reference["x"]).float().unsqueeze(1)
    x_test = torch.from_numpy(reference["x_test"]).float().unsqueeze(1)
    mean, std = channel_stats(x_train)
    assert torch.allclose(data.x_train, (x_train - mean) / std, atol=1e-5)
    assert torch.allclose(data.x_test, (x_test - mean) / std, atol=1e-5)


def test_disk_cache_holds_the_raw_arrays(default_pair):
    reference, _, directory = default_pair
    (path,) = directory.glob("mnist1d-*-n5000-s42-*.npz")
    with np.load(path) as stored:
        for key in ("x", "y", "x_test", "y_test"):
            np.testing.assert_array_equal(stored[key], reference[key])


def test_info_matches_default_load(default_pair):
    _, data, _ = default_pair
    info = get_dataset_info("mnist1d")
    assert info.in_shape == data.in_shape == (1, 40)
    assert info.size == format_size(data.num_train, data.num_test) == "4,000 train / 1,000 test"
    assert info.options == {"num_samples": 5000}


def test_second_load_reads_the_disk_cache(fresh_cache, monkeypatch):
    first = load_dataset("mnist1d", num_samples=500)
    assert len(list(fresh_cache.glob("*.npz"))) == 1
    assert not list(fresh_cache.glob("*.tmp"))
    builtin.clear_memory_cache()

    def broken(*args, **kwargs):
        raise AssertionError("make_dataset called although the data is cached")

    monkeypatch.setattr(mnist1d.data, "make_dataset", broken)
    again = load_dataset("mnist1d", num_samples="500")
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)


def test_corrupt_cache_file_is_rebuilt(fresh_cache):
    first = load_dataset("mnist1d", num_samples=500)
    (path,) = fresh_cache.glob("*.npz")
    path.write_bytes(b"not a zip file")
    builtin.clear_memory_cache()
    again = load_dataset("mnist1d", num_samples=500)
    assert torch.equal(first.x_train, again.x_train)
    with np.load(path) as stored:  # rewritten
        assert stored["x"].shape == (400, 40)


def test_unwritable_cache_dir_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV_VAR, str(blocker / "cache"))
    builtin.clear_memory_cache()
    data = load_dataset("mnist1d", num_samples=500)
    builtin.clear_memory_cache()
    assert data.x_train.shape == (400, 1, 40)


def test_seed_picks_the_generation_seed_and_keeps_global_rngs(fresh_cache):
    np.random.seed(7)
    random.seed(7)
    other = load_dataset("mnist1d", seed=1, num_samples=200)
    after = (np.random.random(), random.random())
    np.random.seed(7)
    random.seed(7)
    assert after == (np.random.random(), random.random())
    assert other.options["mnist1d_seed"] == 1
    default = load_dataset("mnist1d", num_samples=200)
    assert default.options["mnist1d_seed"] == 42
    assert not torch.equal(default.x_train, other.x_train)


@pytest.mark.parametrize(
    ("value", "message"),
    [(50, "must be >= 100, got 50"), ("lots", "must be an integer, got 'lots'"), (2.5, "integer")],
)
def test_bad_num_samples(value, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("mnist1d", num_samples=value)
