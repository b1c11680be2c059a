"""torchvision-backed data sets: error paths, folder layout checks, and the tensor conversion
run against a stand-in ``torchvision`` module (the real one is optional)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from layerorder.data import DatasetError, check_dataset, get_dataset_info, load_dataset

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
needs_no_torchvision = pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision is installed")


@needs_no_torchvision
@pytest.mark.parametrize("name", ["cifar10", "mnist", "fashion-mnist"])
def test_missing_torchvision_gives_the_install_hint(name):
    message = f"data set '{name}' needs torchvision; install it with: pip install torchvision"
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset(name)


def test_options_are_checked_before_loading():
    with pytest.raises(DatasetError, match="option 'download' of data set 'cifar10' must be"):
        load_dataset("cifar10", download="maybe")


def _make_folder(root: Path, layout: dict[str, list[str]], images: int = 0) -> Path:
    from PIL import Image

    for split, classes in layout.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for label in classes:
            folder = root / split / label
            folder.mkdir(parents=True)
            for index in range(images):
                colour = (40 * index, 10 * len(label), 200)
                Image.new("RGB", (5 + index, 7), colour).save(folder / f"{index}.png")
    return root


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (None, "does not exist"),
        ({"test": ["a"]}, "has no train/ subfolder"),
        ({"train": ["a"]}, "has no test/ or val/ subfolder"),
        ({"train": [], "test": []}, "has no class subfolders"),
        ({"train": ["a", "b"], "val": ["a", "c"]}, "only in train: ['b']; only in val: ['c']"),
    ],
)
def test_imagefolder_layout_errors(tmp_path, layout, message):
    root = tmp_path / "images"
    if layout is not None:
        _make_folder(root, layout)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset(f"imagefolder:{root}")


def test_imagefolder_without_path():
    with pytest.raises(DatasetError, match="names no folder"):
        load_dataset("imagefolder:")


def test_imagefolder_info_keeps_the_path():
    info = get_dataset_info("ImageFolder:/data/My Pics")
    assert info.name == "imagefolder:/data/My Pics"
    assert info.requires == "torchvision" and info.options == {"size": 32}


@needs_no_torchvision
def test_valid_imagefolder_needs_torchvision(tmp_path):
    root = _make_folder(tmp_path, {"train": ["a", "b"], "val": ["a", "b"]})
    with pytest.raises(DatasetError, match="needs torchvision; install it with"):
        load_dataset(f"imagefolder:{root}")


class _FakeImageFolder:
    """The part of torchvision.datasets.ImageFolder that the loader uses."""

    def __init__(self, root):
        self.classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
        self.samples = [
            (str(path), index)
            for index, label in enumerate(self.classes)
            for path in sorted((Path(root) / label).iterdir())
        ]
        self.targets = [target for _, target in self.samples]


def _fake_split(shape, as_tensor):
    class Split:
        classes = [str(i) for i in range(10)]

        def __init__(self, root, train, download):
            if not download and not Path(root).is_dir():
                raise RuntimeError("Dataset not found. You can use download=True to download it")
            n = 30 if train else 10
            data = np.random.default_rng(n).integers(0, 256, (n, *shape), dtype=np.uint8)
            self.data = torch.from_numpy(data) if as_tensor else data
            self.targets = torch.arange(n) % 10 if as_tensor else [i % 10 for i in range(n)]

    return Split


@pytest.fixture()
def fake_torchvision(monkeypatch):
    datasets = SimpleNamespace(
        CIFAR10=_fake_split((32, 32, 3), as_tensor=False),
        MNIST=_fake_split((28, 28), as_tensor=True),
        FashionMNIST=_fake_split((28, 28), as_tensor=True),
        ImageFolder=_FakeImageFolder,
    )
    monkeypatch.setitem(sys.modules, "torchvision", SimpleNamespace(datasets=datasets))


@pytest.mark.parametrize(
    ("name", "in_shape"),
    [("cifar10", (3, 32, 32)), ("mnist", (1, 28, 28)), ("fashion-mnist", (1, 28, 28))],
)
def test_torchvision_sets_become_normalised_tensors(fake_torchvision, tmp_path, name, in_shape):
    data = load_dataset(name, data_dir=str(tmp_path))
    assert data.in_shape == in_shape == get_dataset_info(name).in_shape
    assert data.x_train.shape == (30, *in_shape) and data.x_test.shape == (10, *in_shape)
    assert data.y_train.dtype == torch.int64 and data.num_classes == 10
    means = data.x_train.mean(dim=[0, 2, 3])
    assert torch.allclose(means, torch.zeros(in_shape[0]), atol=1e-5)
    assert data.options == {"data_dir": str(tmp_path), "download": False, "seed": 0}


def test_missing_torchvision_data_says_how_to_download(fake_torchvision, tmp_path):
    with pytest.raises(DatasetError, match=re.escape("pass download=True (CLI: --data-opt")):
        load_dataset("mnist", data_dir=str(tmp_path / "absent"))


def test_imagefolder_loads_resized_rgb(fake_torchvision, tmp_path):
    root = _make_folder(tmp_path, {"train": ["cat", "dog"], "test": ["cat", "dog"]}, images=3)
    data = load_dataset(f"imagefolder:{root}", size="6")
    assert data.in_shape == (3, 6, 6) and data.num_classes == 2
    assert data.x_train.shape == (6, 3, 6, 6) and data.x_test.shape == (6, 3, 6, 6)
    assert data.y_train.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.options == {"size": 6, "seed": 0}


@needs_no_torchvision
def test_check_dataset_reports_missing_torchvision():
    with pytest.raises(DatasetError, match="needs torchvision; install it with"):
        check_dataset("cifar10", download="true")


def test_check_dataset_checks_the_folder_layout(tmp_path):
    with pytest.raises(DatasetError, match="has no train/ subfolder"):
        check_dataset(f"imagefolder:{tmp_path}")


def test_check_dataset_passes_with_torchvision(fake_torchvision, tmp_path):
    root = _make_folder(tmp_path, {"train": ["a"], "test": ["a"]})
    info = check_dataset(f"imagefolder:{root}", size="16")
    assert info.options == {"size": 16}
