"""Owner strings and their staleness."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from layerorder.store import is_stale_owner, make_owner

posix_only = pytest.mark.skipif(os.name == "nt", reason="staleness is never judged on Windows")


def test_make_owner_format():
    host, pid, token = make_owner().rsplit(":", 2)
    assert host == socket.gethostname()
    assert pid == str(os.getpid())
    assert token
    assert make_owner() == make_owner()  # stable within a process


@posix_only
def test_live_and_dead_owners():
    host = socket.gethostname()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert is_stale_owner(f"{host}:{proc.pid}:anything")
    assert not is_stale_owner(make_owner())
    assert not is_stale_owner(f"{host}:{os.getpid()}:another-token")
    assert not is_stale_owner(f"other-host.invalid:{proc.pid}:x")
    assert not is_stale_owner("garbage")
    assert is_stale_owner(None)


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/stat"), reason="needs /proc")
def test_reused_pid_is_stale():
    """A live pid with a different recorded start time belongs to a newer process."""
    host, pid, token = make_owner().rsplit(":", 2)
    assert token.startswith("st")
    assert is_stale_owner(f"{host}:{pid}:st1")
