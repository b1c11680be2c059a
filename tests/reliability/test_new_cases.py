"""The cases the fault suite had not tried, each with its outcome (the table in
docs/reliability.md, "New cases"): bounded numbers, file shapes, odd stores, missing stores,
unwritable outputs, the Python API's bad data and model factories, and Markdown that a user's
text cannot turn into markup."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from torch import nn

import layerorder
from layerorder.data import DatasetError
from tests.helpers import TINY, run_cli, tiny_store
from tests.reliability.mounts import tmpfs

ONE_LINE = 30.0  # seconds a refusal may take: it never starts the work


def _refused(capsys, *args, fragment: str, code: int = 2) -> str:
    """One line naming ``fragment``, exit ``code``, before any work."""
    start = time.perf_counter()
    got, _, err = run_cli(capsys, *args)
    assert got == code and fragment in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert time.perf_counter() - start < ONE_LINE
    return err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["compare", "--epochs", "99999999999999999999"], "epochs must be at most 100,000"),
        (["compare", "--lease", "0"], "lease must be a number >= 2"),
        (["compare", "--lease", "nan"], "lease must be a number >= 2"),
        (["compare", "--lr", "nan"], "lr must be a number > 0"),
        (["compare", "--until-decided", "--max-seeds", "0"], "max_seeds must be >= 2"),
        (["compare", "--vary", "batch_size=8,16", "--vary", "batch_size=32"],
         "vary names batch_size twice"),
        (["compare", "--run-timeout", "inf"], "run_timeout must be a number > 0"),
        (["search", "--budget", "1000000000"], "at most 1,000,000 full runs"),
        (["search", "--budget", "nan"], "neither a number of full runs"),
    ],
)
def test_numbers_are_bounded_and_finite(tmp_path, capsys, args, fragment):
    db = tmp_path / "s.db"
    _refused(capsys, *args, "--store", db, fragment=fragment)
    assert not db.exists()


def test_a_million_factor_levels_are_refused_before_any_work(tmp_path):
    start = time.perf_counter()
    with pytest.raises(layerorder.ConfigError, match="raise --max-runs"):
        layerorder.compare_plan(vary={"p_drop": [i / 1e6 for i in range(1_000_000)]})
    assert time.perf_counter() - start < ONE_LINE


STUDY = """name = "{name}"
title = "t"
[scales.quick]
minutes = {minutes}
dataset = "synthetic"
arch = "mlp"
[[experiments]]
id = "pair"
orders = ["standard", "no-norm"]
{claims}
id = "better"
statement = "s"
source = "x"
experiment = "pair"
test = "accuracy"
better = "standard"
than = "no-norm"
"""


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"claims": "[claims]"}, "'claims' must be an array of tables ([[claims]] sections)"),
        ({"minutes": "nan"}, "'minutes' must be a positive number"),
        ({"name": "../../etc/x"}, "'name' names files and experiments"),
    ],
)
def test_a_study_file_of_the_wrong_shape_is_one_line(tmp_path, capsys, values, fragment):
    text = STUDY.format(**{"name": "s", "minutes": 1, "claims": "[[claims]]", **values})
    path = tmp_path / "s.toml"
    path.write_text(text)
    _refused(capsys, "study", "show", path, fragment=fragment)


@pytest.mark.parametrize("command", [["study", "show"], ["compare", "--dry-run", "--config"]])
def test_nesting_too_deep_for_the_reader_is_one_line(tmp_path, capsys, command):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    _refused(capsys, *command, path, fragment="nests arrays or tables too deeply")


def test_markdown_shows_a_users_html_and_links_as_text(tmp_path, capsys):
    """A study's title, question, statement and source reach the Markdown page inert."""
    evil = {"<script>alert(1)</script>": "&lt;", "<img src=x onerror=alert(1)>": "&lt;",
            "[x](javascript:alert(1))": "javascript"}
    text = STUDY.format(name="s", minutes=1, claims="[[claims]]").replace(
        'title = "t"', 'title = "<script>alert(1)</script>"\nquestion = "[x](javascript:alert(1))"'
    ).replace('statement = "s"', 'statement = "<img src=x onerror=alert(1)>"').replace(
        'arch = "mlp"', 'arch = "mlp"\nepochs = 1\nseeds = 2')  # what is trained is not tested
    path = tmp_path / "s.toml"
    path.write_text(text)
    db = tmp_path / "s.db"
    code, _, err = run_cli(capsys, "study", "run", path, "--store", db, "--executor", "sequential")
    assert code == 0, err
    md = tmp_path / "f.md"
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "md",
                           "-o", md)
    assert code == 0, err
    page = md.read_text()
    for raw in evil:
        assert raw not in page
    assert "\\<script\\>" in page and "\\[x\\](javascript:alert(1))" in page
    assert "\\<img src=x onerror=alert(1)\\>" in page


@pytest.mark.parametrize("kind", ["symlink to /dev/null", "fifo"])
def test_a_store_that_is_no_file_is_refused_for_what_it_is(tmp_path, capsys, kind):
    store = tmp_path / "s.db"
    if kind == "fifo":
        os.mkfifo(store)
        fragment = "is a named pipe (FIFO), not a file"
    else:
        store.symlink_to("/dev/null")
        fragment = "is a symbolic link to a character device (/dev/null), not a file"
    for command in (["compare", *TINY, "--seeds", "1"], ["runs"], ["report"], ["export"]):
        _refused(capsys, *command, "--store", store, fragment=fragment)


@pytest.mark.parametrize("command", [["runs"], ["export"], ["report"],
                                     ["export", "--format", "tensorboard", "-o", "{tmp}/tb"]])
def test_a_missing_store_is_named(tmp_path, capsys, command):
    command = [c.format(tmp=tmp_path) for c in command]
    _refused(capsys, *command, "--store", tmp_path / "none.db", fragment="no store at")
    assert not (tmp_path / "none.db").exists()


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write: a read-only tmpfs where this runs as root (who writes into a
    folder without write permission), else a folder without write permission."""
    folder = tmp_path / "ro"
    if os.geteuid() != 0:
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    with tmpfs(folder, "ro,size=1m") as mounted:
        yield mounted


def test_a_read_only_output_folder_is_one_line(tmp_path, capsys, read_only_folder):
    db = tiny_store(capsys, tmp_path / "s.db")
    for command in (["report", "-o", read_only_folder / "r.html"],
                    ["export", "-o", read_only_folder / "r.csv"],
                    ["report", "--format", "md", "-o", read_only_folder / "r.md"]):
        _refused(capsys, *command, "--store", db, fragment="cannot be written (read-only")
    assert list(read_only_folder.iterdir()) == []


def _arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")
    return x, x[:, :3].argmax(1)


def _model():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def _boom():
    raise RuntimeError("boom")


def _case(name):
    x, y = _arrays()
    nan = x.copy()
    nan[3, 2] = np.nan
    return {
        "NaN input": ((nan[:80], y[:80], nan[80:], y[80:]), _model, DatasetError,
                      "train sample 3 has a NaN or infinite value"),
        "x and y of different lengths": ((x[:80], y[:70], x[80:], y[80:]), _model, DatasetError,
                                         "must be (N, ...) and (N,)"),
        "labels beyond the model's outputs": ((x[:80], y[:80] + 100, x[80:], y[80:]), _model,
                                              layerorder.ConfigError, "103 classes"),
        "text inputs": ((x[:80].astype(str), y[:80], x[80:], y[80:]), _model, DatasetError,
                        "is not an array or tensor"),
        "empty train split": ((x[:0], y[:0], x[80:], y[80:]), _model, DatasetError,
                              "needs at least 2 samples"),
        "factory raises": ((x[:80], y[:80], x[80:], y[80:]), _boom, layerorder.ConfigError,
                           "factory raised RuntimeError: boom"),
        "factory returns None": ((x[:80], y[:80], x[80:], y[80:]), lambda: None,
                                 layerorder.ConfigError, "must return an nn.Module"),
        "wrong output size": ((x[:80], y[:80], x[80:], y[80:]),
                              lambda: nn.Sequential(nn.Linear(6, 2)), layerorder.ConfigError,
                              "it must return (batch, 3) logits"),
    }[name]


@pytest.mark.parametrize("name", ["NaN input", "x and y of different lengths",
                                  "labels beyond the model's outputs", "text inputs",
                                  "empty train split", "factory raises", "factory returns None",
                                  "wrong output size"])
def test_the_python_api_refuses_bad_data_and_models_before_training(tmp_path, name):
    data, model, error, fragment = _case(name)
    with pytest.raises(error, match=None) as info:
        layerorder.compare(data=data, model=model, orders=["as-is"], seeds=1, epochs=1,
                           executor="sequential", store=tmp_path / "s.db", progress=False)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert not Path(tmp_path / "s.db").exists()


ESCAPED_MODEL = '''from torch import nn


def make():
    m = nn.Sequential()
    m.add_module("\\x1b[2Jconv", nn.Conv2d(3, 4, 3))
    m.add_module("\\x1b]0;title\\x07bn", nn.BatchNorm2d(4))
    m.add_module("drop\\x1b[31m", nn.Dropout())
    m.add_module("bn2", nn.BatchNorm2d(4))
    return m
'''


@pytest.mark.parametrize("command", [["lint"], ["rewrite", "--to", "bn-relu-conv"], ["fold"]])
def test_escape_codes_in_a_models_names_never_reach_the_terminal(tmp_path, capsys, command):
    """Module names are the user's (``add_module`` takes any text): every line that shows them
    shows control characters as ``\\x1b`` instead of sending them to the terminal."""
    path = tmp_path / "m.py"
    path.write_text(ESCAPED_MODEL)
    code, out, err = run_cli(capsys, command[0], f"{path}:make", *command[1:], "-i", "1,3,8,8")
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert code in (0, 1) or len(err.strip().splitlines()) == 1  # 1: a rewrite changed nothing
    assert "\\x1b" in out + err  # the names are still there, made visible


def test_an_onnx_file_past_two_gib_is_refused_before_it_is_read(tmp_path, capsys):
    pytest.importorskip("onnx", reason="onnx is not installed")
    huge = tmp_path / "huge.onnx"
    with huge.open("wb") as fh:  # sparse: 3 GiB on paper, no disk taken
        fh.truncate(3 * 1024**3)
    _refused(capsys, "lint", huge, fragment="past the 2 GiB an ONNX file can hold")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(os.urandom(4 * 1024**2))
    _refused(capsys, "lint", garbage, fragment="cannot read ONNX model")
