"""A store file deleted or replaced while a command has it open.

SQLite keeps writing to a deleted file through its open descriptor, so a sweep whose store is
deleted would store every result in a file nobody can reach. Before each write ``Store`` compares
the file at its path with the one it opened (device and inode). A deleted store is restored at its
path from the open connection (SQLite's backup API), with everything stored so far, and the
command goes on; a store replaced by another file is not written to: what this command stored is
saved beside it and the command stops.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

Identity = tuple[int, int]


def file_identity(path: str | os.PathLike[str]) -> Identity | None:
    """(device, inode) of the file at ``path``, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def copy_out(conn: sqlite3.Connection, path: Path) -> Path:
    """Write the whole database behind ``conn`` to a new file beside ``path``
    (``NAME.recovered-<time>-<pid>.db``, rollback journal, so no -wal file is needed to read
    it), through a temporary file renamed into place; returns the new file."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{threading.get_ident() % 10000}"
    target = path.with_name(f"{path.name}.recovered-{stamp}.db")
    tmp = target.with_name(f".{target.name}.tmp")
    dest = sqlite3.connect(tmp)
    try:
        conn.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")
        dest.close()
        os.replace(tmp, target)
    except BaseException:
        dest.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def restore_at(saved: Path, path: Path) -> bool:
    """Put the copy ``saved`` back at ``path`` unless a file appeared there meanwhile (another
    process restored it first); False then. The deleted store's -wal and -shm, still at the path
    when only the main file was deleted, are removed first: a -wal must never be applied to
    another database file."""
    if file_identity(path) is not None:
        return False
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    try:
        os.link(saved, path)  # unlike a rename, never replaces a file that appeared meanwhile
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links
        os.replace(saved, path)
        return True
    os.unlink(saved)
    return True
