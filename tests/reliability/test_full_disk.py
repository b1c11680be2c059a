"""A real full disk: a 2 MB tmpfs, filled. Reports keep their old version, a sweep stops with
exit code 3 and a store that is still whole, and it resumes once there is room. (Needs a tmpfs
mount, i.e. root in a container that allows it; the injected ENOSPC tests in ``test_outputs.py``
cover the same promises everywhere.)"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import pytest

from layerorder.store import Store
from tests.helpers import TINY, run_cli, sha, tiny_store
from tests.reliability.mounts import tmpfs


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "size=2m") as mount:
        yield mount


def _fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail == 0
    return filler


def test_a_full_disk_keeps_the_old_report(small_disk, tmp_path, capsys):
    db = tiny_store(capsys, tmp_path / "s.db")
    report = small_disk / "report.html"
    code, _, err = run_cli(capsys, "report", "--store", db, "-o", report)
    assert code == 0, err
    before = sha(report)
    filler = _fill(small_disk)
    code, _, err = run_cli(capsys, "report", "--store", db, "-o", report)
    assert code == 3 and "the disk is full; the old file is unchanged" in err, err
    assert sha(report) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "report.html"]
    filler.unlink()


def test_a_sweep_on_a_full_disk_stops_with_a_whole_store_and_resumes(small_disk, capsys):
    db = tiny_store(capsys, small_disk / "s.db", seeds=1)
    filler = _fill(small_disk)
    args = ["compare", *TINY, "--order", "standard,preact", "--seeds", "4", "--store", db,
            "--no-report"]
    code, _, err = run_cli(capsys, *args)
    assert code == 3, err
    line = err.strip().splitlines()[-1]  # SQLite says "disk is full" or "disk I/O error"
    assert line.startswith("error: cannot write store") and "run the command again" in line, err
    filler.unlink()
    with Store.open(db) as store:
        assert store.integrity_check() == "ok"
        done_before = [r.id for r in store.runs(1, "done")]
    assert len(done_before) >= 1  # the first experiment's run is still there
    code, _, err = run_cli(capsys, *args)
    assert code == 0, err
    with Store.open(db) as store:
        runs = store.runs(store.find_experiment("default").id)
    assert len(runs) == 8 and all(r.status == "done" for r in runs)


def test_enospc_is_what_a_full_tmpfs_raises(small_disk):
    """The injected fault of ``test_outputs.py`` is the one a real full disk gives."""
    _fill(small_disk)
    with pytest.raises(OSError) as info:
        (small_disk / "more").write_bytes(b"x" * 8192)
    assert info.value.errno == errno.ENOSPC
