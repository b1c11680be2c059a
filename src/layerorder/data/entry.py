"""A registry entry: what a data set is (its info and option specs) and how to load it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerorder.data.base import Dataset, DatasetInfo
from layerorder.data.options import OptionSpec

# loader(info, seed, options) -> Dataset; ``options`` are already coerced and complete.
Loader = Callable[[DatasetInfo, int, dict[str, Any]], Dataset]
# check(info, options) -> None: cheap checks that need no data (raise DatasetError).
Check = Callable[[DatasetInfo, dict[str, Any]], None]


@dataclass(frozen=True)
class DatasetEntry:
    """One registered data set.

    ``prefix`` marks a parameterised family (``"imagefolder:"``): any name that starts
    with it selects this entry, and the rest of the name is passed on in ``info.name``.
    ``check`` runs before loading (and in ``check_dataset``): option combinations, paths.
    """

    name: str
    description: str
    source: str
    in_shape: tuple[int, ...] | None
    num_classes: int | None
    size: str
    specs: tuple[OptionSpec, ...]
    loader: Loader
    requires: str | None = None
    prefix: str | None = None
    check: Check | None = None

    @property
    def key(self) -> str:
        """The registry key: the prefix for a family, else the name."""
        return self.prefix or self.name

    def info(self, name: str | None = None) -> DatasetInfo:
        """A fresh ``DatasetInfo`` (its options dict is a copy of the defaults)."""
        return DatasetInfo(
            name=name or self.name,
            description=self.description,
            source=self.source,
            in_shape=self.in_shape,
            num_classes=self.num_classes,
            size=self.size,
            options={spec.name: spec.default for spec in self.specs},
            requires=self.requires,
        )
