"""Output files never overwrite the store or a foreign file, and are replaced atomically."""

import errno
import os

import pytest

from tests.helpers import TINY, run_cli, sha, tiny_store


@pytest.fixture
def store(tmp_path, capsys):
    return tiny_store(capsys, tmp_path / "s.db", "--report-path", tmp_path / "r.html")


@pytest.mark.parametrize(
    "args",
    [
        ["compare", *TINY, "--order", "standard", "--seeds", "1", "--report-path", "{db}"],
        ["report", "-o", "{db}"],
        ["report", "--format", "md", "-o", "{db}"],
        ["export", "-o", "{db}"],
    ],
)
def test_an_output_that_is_the_store_is_refused(store, capsys, args):
    before = sha(store)
    argv = [a.format(db=store) for a in args] + ["--store", store]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "is the store itself" in err, err
    assert sha(store) == before
    code, out, _ = run_cli(capsys, "runs", "--store", store)
    assert code == 0 and "default" in out


@pytest.mark.parametrize("command", [["report"], ["export"], ["report", "--format", "md"]])
def test_a_foreign_file_is_left_alone(store, tmp_path, capsys, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    code, _, err = run_cli(capsys, *command, "--store", store, "-o", notes)
    assert code == 2 and "was not written by layerorder" in err
    assert notes.read_text() == "my notes\n"


def test_a_device_is_not_an_output(store, capsys):
    code, _, err = run_cli(capsys, "report", "--store", store, "-o", "/dev/full")
    assert code == 2 and "not a regular file" in err
    code, _, err = run_cli(capsys, "report", "--format", "md", "--store", store, "-o", "/dev/full")
    assert code == 2 and not os.path.exists("/dev/full_curves.png")


def test_a_report_is_replaced_by_a_report(store, tmp_path, capsys):
    page = tmp_path / "r.html"
    first = page.read_text()
    code, _, err = run_cli(capsys, "report", "--store", store, "-o", page)
    assert code == 0, err
    assert page.read_text() != "" and "layerorder" in first


def test_a_full_disk_keeps_the_old_report_and_exits_3(store, tmp_path, capsys, monkeypatch):
    page = tmp_path / "r.html"
    before = sha(page)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, _, err = run_cli(capsys, "report", "--store", store, "-o", page)
    assert code == 3 and "the disk is full" in err and "unchanged" in err
    assert sha(page) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    code, _, err = run_cli(capsys, "export", "--store", store, "-o", tmp_path / "x.csv")
    assert code == 3 and not (tmp_path / "x.csv").exists()
