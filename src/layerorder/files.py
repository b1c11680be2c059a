"""Files layerorder writes (reports, figures, exports): checked before any work starts, and
written atomically, so a full disk or a crash never leaves a truncated file in place of a good one
and an output path can never overwrite the store or another file that is not ours.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from layerorder.errors import ConfigError, EnvironmentFault

SQLITE_HEADER = b"SQLite format 3\x00"
GENERATOR = "layerorder"  # named in every HTML report (<meta name="generator">)

# a name that becomes part of a file's or an experiment's name (a study, a claim, a user's data):
# letters, digits, '_', '.' and '-', starting with a letter or digit, never a path
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SAFE_NAME_RULE = ("letters, digits, '-', '_' and '.' only (starting with a letter or digit, at"
                  " most 100)")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output(
    path: str | os.PathLike,
    what: str,
    *,
    store: str | os.PathLike | None = None,
    ours: Callable[[bytes], bool] | None = None,
) -> Path:
    """Refuse, before any work, an output that would overwrite the store (its file: a server
    store is None here), a folder, something that is not a regular file, an SQLite database, or
    an existing file that ``ours`` (given the file's first 4 KiB) does not recognise as one
    layerorder wrote."""
    out = Path(path)
    same = store is not None and (
        _same_file(out, Path(store)) or out.resolve() == Path(store).resolve()
    )
    if same:
        raise ConfigError(f"{what} '{out}' is the store itself; give another file name")
    if out.is_dir():
        raise ConfigError(f"{what} '{out}' is a directory; give a file name")
    if not out.parent.exists():
        raise ConfigError(f"{what} '{out}': folder '{out.parent}' does not exist")
    if not os.access(out.parent, os.W_OK):  # read-only mount or no permission (root too)
        raise ConfigError(f"{what} '{out}': folder '{out.parent}' cannot be written (read-only"
                          " or not yours); give a path in a folder you can write")
    if out.exists():
        if not out.is_file():
            raise ConfigError(f"{what} '{out}' is not a regular file; give a file name")
        head = out.open("rb").read(4096)
        if head.startswith(SQLITE_HEADER) or (ours is not None and head and not ours(head)):
            raise ConfigError(
                f"{what} '{out}' exists and was not written by layerorder; it is left alone:"
                " give another file name"
            )
    return out


def is_html_report(head: bytes) -> bool:
    """A page layerorder wrote (reports from before the generator tag carry its title)."""
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head or (
        b"<title>layerorder:" in head
    )


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Write to a temporary file beside ``path``, then rename it into place; on any error the
    old file stays as it was and the temporary file is removed. A full disk or another OS
    failure is an ``EnvironmentFault``."""
    out = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:  # the folder: read-only, gone, not ours
        raise EnvironmentFault(f"cannot write '{out}': {exc.strerror or exc}") from None
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(out))  # mkstemp's 0600 would hide a page from its readers
        os.replace(tmp, out)
    except OSError as exc:
        _discard(tmp)
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        message = f"cannot write '{out}': {reason}; the old file is unchanged"
        raise EnvironmentFault(message) from None
    except BaseException:
        _discard(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_output(path) as fh:
        fh.write(text)
    return Path(path)


def _mode_for(path: Path) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave: the existing file's, or
    0666 less the process's umask for a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without setting it where the system allows (Linux exposes it
    in /proc; elsewhere it is set and restored at once, as Python has no getter)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)
