"""The store's error type."""

from __future__ import annotations

from layerorder.errors import LayerorderError


class StoreError(LayerorderError, ValueError):
    """The store file cannot be used: wrong kind of file, unwritable, too new, or a bad request."""
