"""What identifies a user's own run's code, so that an edit is noticed: a fingerprint over the
contents of the files it is made of, part of every run key.

The files are those named with ``--watch``; without it, the files a ``--command`` names that hold
code (``train.py`` in ``python train.py --order {order}``), or the file of a ``train=`` target
(``train.py:train``; a module's source file for ``package.module:train``). A training function
given in Python is identified by its own source (``callables.register_train``). ``code_version``
is the user's own tag beside it, for what no file shows (a dependency, a data set on a server).

An edit changes the fingerprint, so the next ``compare`` has new run keys: it starts a new
experiment of the same name and trains it afresh, and the runs of the old code stay in the
store under the experiment they were made in (``layerorder runs`` lists both).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shlex
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError

# suffixes of files that hold code: a --command's other files (data, configs) are its inputs
CODE_SUFFIXES = frozenset({".py", ".sh", ".bash", ".r", ".jl", ".js", ".ts", ".lua", ".m", ".rb",
                           ".pl", ".ipynb", ".java", ".scala", ".go", ".rs", ".c", ".cc", ".cpp"})
MAX_BYTES = 50 * 2**20  # a watched file larger than this is most likely data, not code


def watched_files(config: Any) -> list[Path]:
    """The files whose contents identify the run's code (empty: none could be found)."""
    if config.watch:
        return [Path(p) for p in config.watch]
    if config.command is not None:
        try:
            tokens = shlex.split(config.command)
        except ValueError:
            return []
        return [Path(t) for t in tokens
                if "{" not in t and Path(t).suffix.lower() in CODE_SUFFIXES and Path(t).is_file()]
    if config.train is not None and not config.train.startswith("python:"):
        where = config.train.rpartition(":")[0]
        if where.endswith(".py"):
            return [Path(where)]
        try:
            spec = importlib.util.find_spec(where)
        except (ImportError, ValueError):
            return []
        origin = spec.origin if spec is not None else None
        return [Path(origin)] if origin and Path(origin).is_file() else []
    return []


def code_fingerprint(config: Any) -> str | None:
    """sha256 over the watched files' names and contents (12 hex digits), or None."""
    paths = watched_files(config)
    if not paths:
        return None
    digest = hashlib.sha256()
    for path in sorted(set(paths), key=str):
        if not path.is_file():
            raise ConfigError(f"--watch file '{path}' does not exist; name files your run's code"
                              " is in")
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"--watch file '{path}' is over {MAX_BYTES // 2**20} MB; watch the"
                              " code, and give data a --code-version")
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
