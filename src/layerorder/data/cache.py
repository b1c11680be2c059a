"""An on-disk cache of generated or parsed arrays (.npz), written atomically, best effort.

The folder is ``$LAYERORDER_CACHE_DIR``, else ``$XDG_CACHE_HOME/layerorder``, else
``~/.cache/layerorder``. When it cannot be read or written the arrays are simply rebuilt.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

CACHE_ENV_VAR = "LAYERORDER_CACHE_DIR"

Arrays = dict[str, np.ndarray]


def cache_dir() -> Path:
    """The folder for cached data (it may not exist yet)."""
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "layerorder"


def cached_arrays(
    key: str,
    build: Callable[[], Mapping[str, np.ndarray]],
    *,
    directory: Path | None = None,
) -> Arrays:
    """The arrays stored under ``key``, or ``build()``'s result (then stored for next time).

    A missing, unreadable or incomplete cache file is rebuilt; a failure to write is ignored.
    """
    path = Path(directory if directory is not None else cache_dir()) / f"{key}.npz"
    arrays = read_arrays(path)
    if arrays is not None:
        return arrays
    arrays = {name: np.asarray(value) for name, value in build().items()}
    write_arrays(path, arrays)
    return arrays


def read_arrays(path: Path) -> Arrays | None:
    """The arrays in ``path``, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Store ``arrays`` at ``path`` atomically (temp file + ``os.replace``); False on failure."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    written = False
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; let others sharing the cache read it
        os.replace(tmp, path)
        written = True
    except OSError:
        pass
    finally:
        if not written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return written
