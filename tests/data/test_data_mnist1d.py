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
    assert data.options == {"num_samples": 5000, "corr_noise": 0.25, "iid_noise": 0.02,
                            "patch": 1, "seed": 0, "mnist1d_seed": 42}
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
    assert info.options == {"num_samples": 5000, "corr_noise": 0.25, "iid_noise": 0.02,
                            "patch": 1}


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


def test_noise_options_equal_the_package_generator_at_those_scales(fresh_cache):
    """corr_noise and iid_noise are mnist1d's own corr_noise_scale and iid_noise_scale: the data
    equal make_dataset's at those arguments, and are cached apart from the default data."""
    args = mnist1d.data.get_dataset_args()
    args.num_samples, args.corr_noise_scale, args.iid_noise_scale = 500, 0.45, 0.05
    reference = mnist1d.data.make_dataset(args)
    data = load_dataset("mnist1d", num_samples=500, corr_noise=0.45, iid_noise="0.05")
    x_train = torch.from_numpy(reference["x"]).float().unsqueeze(1)
    mean, std = channel_stats(x_train)
    assert torch.allclose(data.x_train, (x_train - mean) / std, atol=1e-5)
    assert torch.equal(data.y_test, torch.from_numpy(reference["y_test"]))
    default = load_dataset("mnist1d", num_samples=500)
    assert not torch.allclose(default.x_train, data.x_train)  # a separate cache entry
    names = sorted(p.name for p in fresh_cache.glob("mnist1d-*.npz"))
    assert len(names) == 2 and any("-c0.45-i0.05-" in n for n in names)


def test_more_correlated_noise_is_harder_for_a_linear_read_out(fresh_cache):
    """The noisier variant is off the ceiling: a least-squares read-out on the raw signals loses
    accuracy as corr_noise grows (an analytic stand-in for 'harder', no training)."""

    def linear_accuracy(data) -> float:
        x = torch.cat([data.x_train.flatten(1), torch.ones(data.num_train, 1)], 1)
        target = torch.nn.functional.one_hot(data.y_train, 10).float()
        w = torch.linalg.lstsq(x, target).solution
        xt = torch.cat([data.x_test.flatten(1), torch.ones(data.num_test, 1)], 1)
        return float(((xt @ w).argmax(1) == data.y_test).float().mean())

    clean = linear_accuracy(load_dataset("mnist1d", num_samples=2000, corr_noise=0.0))
    noisy = linear_accuracy(load_dataset("mnist1d", num_samples=2000, corr_noise=0.9))
    assert noisy < clean - 0.03


def test_patch_makes_tokens_of_consecutive_samples(fresh_cache):
    flat = load_dataset("mnist1d", num_samples=200)
    patched = load_dataset("mnist1d", num_samples=200, patch=5)
    assert tuple(patched.x_train.shape[1:]) == (5, 8) and patched.in_shape == (5, 8)
    raw = builtin._mnist1d_arrays(200, 42, 0.25, 0.02, str(fresh_cache))["x"]
    tokens = builtin.as_patches(raw, 5)
    # token t of sample i holds samples 5t .. 5t+4 of the signal
    np.testing.assert_array_equal(tokens[3, :, 2], raw[3, 10:15])
    assert torch.equal(patched.y_train, flat.y_train)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"patch": 3}, "patch must divide the signal's 40 samples, got 3; use one of 1, 2, 4, 5"),
     ({"corr_noise": -0.1}, "corr_noise"), ({"iid_noise": "loud"}, "must be a number")],
)
def test_bad_variant_options(options, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("mnist1d", num_samples=200, **options)


def test_patched_mnist1d_is_a_token_task_a_pre_ln_transformer_learns(fresh_cache):
    """The cpu scale's token task: 8 tokens of 5 samples. A small pre-LN encoder learns it well
    above chance within a few epochs on a CPU (the cpu scale trains depth 6 and 12 for 12)."""
    from layerorder.experiment.configuration.config import RunConfig
    from layerorder.experiment.training.loop import train
    from layerorder.models import build_model

    data = load_dataset("mnist1d", num_samples=1500, patch=5)
    cfg = RunConfig(order="pre-ln", seed=0, lr=0.003, dataset="mnist1d", arch="transformer",
                    width=32, depth=2, epochs=6, batch_size=100, schedule="constant")
    torch.manual_seed(0)
    model = build_model("transformer", "pre-ln", in_shape=data.in_shape, num_classes=10,
                        width=32, depth=2)
    result = train(model, data, cfg)
    assert result.status == "done"
    assert result.epochs[-1].test_acc > 3 * data.chance  # chance is about 10 %
