"""layerorder.files: atomic writes leave the permissions a plain write would."""

import os
import stat

import pytest

from layerorder.files import atomic_write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_file_gets_0666_less_the_umask(tmp_path, umask_022):
    page = atomic_write_text(tmp_path / "page.md", "# layerorder findings\n")
    plain = tmp_path / "plain.md"
    plain.write_text("x")
    assert stat.S_IMODE(page.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    page = tmp_path / "page.md"
    page.write_text("old")
    page.chmod(0o640)
    atomic_write_text(page, "new")
    assert page.read_text() == "new" and stat.S_IMODE(page.stat().st_mode) == 0o640
