"""A row of a query on a server store, read as ``sqlite3.Row`` reads one: by column name or
position, unpacked as a tuple, with ``keys()``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Row(tuple):
    """The values of one row, with their column names."""

    _names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def keys(self) -> list[str]:
        return list(self._names)

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                key = self._names.index(key)
            except ValueError:
                raise IndexError(f"no column named '{key}'") from None
        return super().__getitem__(key)
