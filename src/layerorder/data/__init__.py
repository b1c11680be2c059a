"""Data sets as in-memory tensors, by name: mnist1d (default), mnist5k, digits, synthetic,
and, with torchvision installed, cifar10, mnist, fashion-mnist and imagefolder:PATH.

    >>> data = load_dataset("synthetic", seed=1, num_samples="256")
    >>> data.summary()
    'synthetic: 204 train / 52 test, input (1, 8, 8), 4 classes'
"""

from layerorder.data.base import Dataset, DatasetError, DatasetInfo
from layerorder.data.cache import CACHE_ENV_VAR, cache_dir
from layerorder.data.entry import DatasetEntry
from layerorder.data.options import OptionSpec
from layerorder.data.registry import (
    chance_level,
    check_dataset,
    get_dataset_info,
    list_datasets,
    load_dataset,
    register_dataset,
)

__all__ = [
    "CACHE_ENV_VAR",
    "Dataset",
    "DatasetEntry",
    "DatasetError",
    "DatasetInfo",
    "OptionSpec",
    "cache_dir",
    "check_dataset",
    "get_dataset_info",
    "list_datasets",
    "chance_level",
    "load_dataset",
    "register_dataset",
]
