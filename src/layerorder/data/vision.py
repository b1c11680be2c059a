"""Data sets read through torchvision (optional): cifar10, mnist, fashion-mnist, imagefolder:PATH.

Every torchvision import happens inside a loader, behind ``require_torchvision``, so the
entries are listed (with ``requires="torchvision"``) whether or not it is installed.
Downloads happen only when asked for with ``download=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerorder.data.base import Dataset, DatasetError, DatasetInfo, format_size
from layerorder.data.cache import cache_dir
from layerorder.data.entry import DatasetEntry
from layerorder.data.options import OptionSpec

if TYPE_CHECKING:
    import torch

IMAGEFOLDER_PREFIX = "imagefolder:"
_TEST_FOLDERS = ("test", "val")
_LAYOUT = "expected PATH/train/CLASS/IMAGE and PATH/test/CLASS/IMAGE (or PATH/val/...)"


def require_torchvision(name: str) -> Any:
    """The torchvision module, or a ``DatasetError`` with the install hint."""
    try:
        import torchvision

    except ImportError:
        raise DatasetError(
            f"data set '{name}' needs torchvision; install it with: pip install torchvision"
        ) from None
    return torchvision


def _data_dir(name: str, options: dict[str, Any]) -> Path:
    return Path(options["data_dir"]).expanduser() if options["data_dir"] else cache_dir() / name


def _open_split(cls: Any, name: str, root: Path, train: bool, download: bool) -> Any:
    """One split of a torchvision data set, with torchvision's errors made user-facing."""
    try:
        return cls(root=str(root), train=train, download=download)
    except (RuntimeError, OSError) as exc:
        if not download:
            raise DatasetError(
                f"data set '{name}' not found under {root}; pass download=True "
                f"(CLI: --data-opt download=true) to download it, "
                f"or data_dir=... to point at an existing copy"
            ) from exc
        raise DatasetError(f"could not download data set '{name}' into {root}: {exc}") from exc


def _load_torchvision(info: DatasetInfo, seed: int, options: dict[str, Any], cls_name: str):
    import torch

    from layerorder.data.arrays import build_dataset

    torchvision = require_torchvision(info.name)
    cls = getattr(torchvision.datasets, cls_name)
    root = _data_dir(info.name, options)
    splits = [_open_split(cls, info.name, root, t, options["download"]) for t in (True, False)]
    xs = [_images_nchw(split.data) for split in splits]
    ys = [torch.as_tensor(np.asarray(split.targets), dtype=torch.int64) for split in splits]
    return build_dataset(
        info,
        x_train=xs[0].float() / 255.0,
        y_train=ys[0],
        x_test=xs[1].float() / 255.0,
        y_test=ys[1],
        in_shape=tuple(xs[0].shape[1:]),
        num_classes=len(splits[0].classes),
        options={**options, "data_dir": str(root), "seed": seed},
    )


def _images_nchw(data: Any) -> torch.Tensor:
    """torchvision's ``.data``: (N, H, W) uint8 tensor (MNIST) or (N, H, W, C) array (CIFAR)."""
    import torch

    images = torch.as_tensor(np.asarray(data))
    if images.ndim == 3:
        return images.unsqueeze(1)
    return images.permute(0, 3, 1, 2)


def _load_cifar10(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    return _load_torchvision(info, seed, options, "CIFAR10")


def _load_mnist(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    return _load_torchvision(info, seed, options, "MNIST")


def _load_fashion_mnist(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    return _load_torchvision(info, seed, options, "FashionMNIST")


def _class_folders(folder: Path) -> list[str]:
    # the same rule as torchvision's ImageFolder.find_classes
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())


def imagefolder_layout(name: str) -> tuple[Path, Path]:
    """The train and test folders named by ``imagefolder:PATH``, checked without torchvision."""
    text = name[len(IMAGEFOLDER_PREFIX) :] if name.lower().startswith(IMAGEFOLDER_PREFIX) else name
    if not text.strip():
        raise DatasetError(f"'{name}' names no folder; use imagefolder:PATH ({_LAYOUT})")
    root = Path(text.strip()).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder '{root}' does not exist or is not a folder; {_LAYOUT}")
    train = root / "train"
    if not train.is_dir():
        raise DatasetError(f"image folder '{root}' has no train/ subfolder; {_LAYOUT}")
    test = next((root / sub for sub in _TEST_FOLDERS if (root / sub).is_dir()), None)
    if test is None:
        raise DatasetError(f"image folder '{root}' has no test/ or val/ subfolder; {_LAYOUT}")
    train_classes, test_classes = _class_folders(train), _class_folders(test)
    if not train_classes:
        raise DatasetError(f"image folder '{train}' has no class subfolders; {_LAYOUT}")
    if train_classes != test_classes:
        only_train = sorted(set(train_classes) - set(test_classes))
        only_test = sorted(set(test_classes) - set(train_classes))
        raise DatasetError(
            f"image folder '{root}': train/ and {test.name}/ must hold the same class folders "
            f"(only in train: {only_train or 'none'}; only in {test.name}: {only_test or 'none'})"
        )
    return train, test


def _read_image_folder(torchvision: Any, folder: Path, size: int) -> tuple[Any, np.ndarray]:
    """All images of ``folder`` as RGB, resized to ``size`` x ``size``: (N, 3, size, size) uint8."""
    from PIL import Image

    resample = getattr(Image, "Resampling", Image).BILINEAR
    try:
        folder_set = torchvision.datasets.ImageFolder(str(folder))
    except (FileNotFoundError, OSError) as exc:
        raise DatasetError(f"image folder '{folder}': {exc}") from exc
    images = np.empty((len(folder_set.samples), size, size, 3), dtype=np.uint8)
    for index, (path, _) in enumerate(folder_set.samples):
        try:
            with Image.open(path) as image:
                images[index] = np.asarray(image.convert("RGB").resize((size, size), resample))
        except OSError as exc:
            raise DatasetError(f"cannot read image '{path}': {exc}") from exc
    return folder_set, images.transpose(0, 3, 1, 2)


def _check_imagefolder(info: DatasetInfo, options: dict[str, Any]) -> None:
    imagefolder_layout(info.name)


def _load_imagefolder(info: DatasetInfo, seed: int, options: dict[str, Any]) -> Dataset:
    import torch

    from layerorder.data.arrays import build_dataset

    train_dir, test_dir = imagefolder_layout(info.name)
    torchvision = require_torchvision(info.name)
    size = options["size"]
    train_set, x_train = _read_image_folder(torchvision, train_dir, size)
    test_set, x_test = _read_image_folder(torchvision, test_dir, size)
    return build_dataset(
        info,
        x_train=torch.from_numpy(x_train).float() / 255.0,
        y_train=np.asarray(train_set.targets),
        x_test=torch.from_numpy(x_test).float() / 255.0,
        y_test=np.asarray(test_set.targets),
        in_shape=(3, size, size),
        num_classes=len(train_set.classes),
        options={**options, "seed": seed},
    )


def _download_specs() -> tuple[OptionSpec, ...]:
    return (
        OptionSpec("data_dir", None, str, "folder holding the data (default: cache dir/NAME)"),
        OptionSpec("download", False, bool, "download the data if it is missing"),
    )


_TORCHVISION = "torchvision.datasets"
VISION_ENTRIES = (
    DatasetEntry(
        name="cifar10",
        description="CIFAR-10: 32x32 colour images of 10 object classes",
        source=f"Krizhevsky 2009 ({_TORCHVISION}.CIFAR10)",
        in_shape=(3, 32, 32),
        num_classes=10,
        size=format_size(50000, 10000),
        specs=_download_specs(),
        loader=_load_cifar10,
        requires="torchvision",
    ),
    DatasetEntry(
        name="mnist",
        description="MNIST: 28x28 handwritten digits, full official split",
        source=f"LeCun et al. 1998 ({_TORCHVISION}.MNIST)",
        in_shape=(1, 28, 28),
        num_classes=10,
        size=format_size(60000, 10000),
        specs=_download_specs(),
        loader=_load_mnist,
        requires="torchvision",
    ),
    DatasetEntry(
        name="fashion-mnist",
        description="Fashion-MNIST: 28x28 greyscale images of 10 clothing classes",
        source=f"Xiao et al. 2017 ({_TORCHVISION}.FashionMNIST)",
        in_shape=(1, 28, 28),
        num_classes=10,
        size=format_size(60000, 10000),
        specs=_download_specs(),
        loader=_load_fashion_mnist,
        requires="torchvision",
    ),
    DatasetEntry(
        name="imagefolder:PATH",
        description="your images: PATH/train/CLASS/* and PATH/test/CLASS/* (or val/), "
        "resized, held in memory",
        source=f"local folder ({_TORCHVISION}.ImageFolder layout)",
        in_shape=None,
        num_classes=None,
        size="from the folder",
        specs=(OptionSpec("size", 32, int, "resize images to size x size", minimum=1),),
        loader=_load_imagefolder,
        requires="torchvision",
        prefix=IMAGEFOLDER_PREFIX,
        check=_check_imagefolder,
    ),
)
