"""Bad input: one line, exit 2, nothing stored, no unbounded work."""

import time

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--dataset", "synthetic", "--data-opt", "noise=nan"], "has a NaN or infinite value"),
        (["--seeds", "10000000", "--dry-run"], "seeds must be <= 100,000"),
        (["--seeds", "20000", "--dry-run"], "raise --max-runs"),
        (["--workers", "64"], "more than the"),
        (["--workers", "100000"], "workers must be at most 4,096"),
        (["--name", "bad\x1b[2Jname"], "control character"),
        (["--name", "bad\udcffname"], "not valid UTF-8"),
        (["--lr", "0.1,,0.2"], "empty entry"),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(tmp_path, capsys, args, fragment):
    db = tmp_path / "s.db"
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "compare", *args, "--store", db)
    assert code == 2 and fragment in err, err
    assert len(err.strip().splitlines()) == 1 and "\x1b" not in err
    assert not db.exists() and time.perf_counter() - start < 30


def test_toml_name_must_be_text(tmp_path, capsys):
    cfg = tmp_path / "e.toml"
    cfg.write_text("name = 5\n")
    code, _, err = run_cli(capsys, "compare", "--config", cfg, "--store", tmp_path / "s.db")
    assert code == 2 and "name must be a string" in err


def test_an_interrupted_lint_does_not_speak_of_runs(tmp_path, capsys):
    target = tmp_path / "m.py"
    target.write_text("raise KeyboardInterrupt\n")
    code, _, err = run_cli(capsys, "lint", f"{target}:make")
    assert code == 130 and "runs" not in err
