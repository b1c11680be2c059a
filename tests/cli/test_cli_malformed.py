"""Malformed input across every command: exit code 2, one line on stderr, no traceback, and an
existing store left byte-for-byte as it was."""

import sqlite3

import pytest

from tests.helpers import TINY, run_cli, sha

MODEL = "import torch.nn as nn\n\ndef make():\n    return nn.Sequential(nn.Linear(4, 2))\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("malformed")
    db = root / "s.db"
    capsys = None  # run_cli needs capsys; use main directly here
    from layerorder.cli.app import main

    with pytest.raises(SystemExit):
        main(
            [
                *map(
                    str,
                    [
                        "compare",
                        *TINY,
                        "--order",
                        "standard",
                        "--seeds",
                        "1",
                        "--store",
                        db,
                        "--no-report",
                    ],
                )
            ]
        )
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root / "notes.txt").write_text("not a database\n")
    (root / "bad.toml").write_text("epochs = = 2\n")
    (root / "unknown.toml").write_text("learning_rate = 0.1\n")
    (root / "m.py").write_text(MODEL)
    (root / "afile").write_text("x")
    (root / "adir").mkdir()
    del capsys
    return root


CASES = [
    (["compare", "--order", "conv-bnn-relu"], "did you mean 'bn'"),
    (["compare", "--dataset", "mnsit1d"], "did you mean 'mnist1d'"),
    (["compare", "--arch", "cnn3d"], "unknown architecture"),
    (["compare", "--seeds", "0"], "seeds must be >= 1"),
    (["compare", "--seeds", "1,1"], "must not repeat"),
    (["compare", "--epochs", "0"], "epochs must be >= 1"),
    (["compare", "--epochs", "abc"], "epochs"),
    (["compare", "--lr", "-0.1"], "lr must be a number > 0"),
    (["compare", "--lr", "0.1,fast"], "lr must be a number"),
    (["compare", "--batch-size", "0"], "batch_size must be >= 1"),
    (["compare", "--p-drop", "1.5"], "p_drop"),
    (["compare", "--optimizer", "adamm"], "did you mean 'adam'"),
    (["compare", "--schedule", "cosin"], "did you mean 'cosine'"),
    (["compare", "--executor", "threads"], "unknown executor"),
    (["compare", "--executor", "sequential", "--workers", "3"], "--workers needs"),
    (["compare", "--executor", "ray", "--workers", "2"],
     "--workers needs --executor auto, process, stacked-pool or slurm, not ray"),
    (["compare", "--data-opt", "num_sample=10"], "did you mean 'num_samples'"),
    (["compare", "--data-opt", "nonsense"], "KEY=VALUE"),
    (["compare", "--config", "{root}/missing.toml"], "does not exist"),
    (["compare", "--config", "{root}/bad.toml"], "not valid TOML"),
    (["compare", "--config", "{root}/unknown.toml"], "unknown key 'learning_rate'"),
    (["compare", "--arch", "resnet", "--order", "act-first"], "residual unit"),
    (["compare", "--model", "not-a-target"], "must look like"),
    (["compare", "--store", "{root}/notes.txt"], "not a layerorder store"),
    (["compare", *TINY, "--store", "{root}/no/such/dir/x.db"], "cannot write store"),
    (["compare", "--bogus"], "No such option"),
    (["compare", "--grad-clip", "-1"], "grad_clip must be a number >= 0"),
    (["compare", "--order", "standrd"], "did you mean the preset 'standard'"),
    (["compare", "--lr", "0.1,,0.2"], "empty entry"),
    (["probe", "--order", "pre-act"], "did you mean the preset 'preact'"),
    (["probe", "--order", "xyz"], "neither a preset (act-first, drop-before-bn"),
    (["probe", "--epochs", "0"], "epochs must be >= 1"),
    (["probe", "--plot", "{root}/afile", "--epochs", "1"], "is a file"),
    (["runs", "--store", "{root}/missing.db"], "no store"),
    (["runs", "--experiment", "nosuch"], "nosuch"),
    (["export", "--format", "xml"],
     "error: Invalid value for '--format' / '-f': 'xml' is not one of 'csv', 'json', 'parquet',"),
    (["export", "-o", "{root}/adir"], "is a directory"),
    (["report", "--format", "pdf"], "pdf"),
    (["report", "--store", "{root}/notes.txt"], "not a layerorder store"),
    (["report", "-o", "{root}/adir"], "is a directory"),
    (["lint", "no_such_module_xyz:make"], "no_such_module_xyz"),
    (["lint", "{root}/m.py:nothing"], "nothing"),
    (["lint", "{root}/m.py:make", "--input-shape", "a,b"], "input shape"),
    (["rewrite", "{root}/m.py:make", "--swap", "foo,bar"], "foo"),
    (["fold", "{root}/missing.py:make", "-i", "1,4"], "missing.py"),
    (["orders", "conv--relu"], "empty token"),
    (["datasets", "nope"], "unknown data set 'nope'"),
]


@pytest.mark.parametrize("args,fragment", CASES)
def test_malformed_input(env, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(env)
    store = env / "s.db"
    before = sha(store)
    argv = [a.format(root=env) for a in args]
    if argv[0] in ("compare", "runs", "export", "report") and "--store" not in argv:
        argv += ["--store", str(store)]
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment.lower() in lines[0].lower(), lines[0]
    assert "Traceback" not in err
    assert sha(store) == before


def test_at_least_25_cases():
    assert len(CASES) >= 25
    assert len({a[0] for a, _ in CASES}) >= 9  # every command
