"""A user's run's code identity: the fingerprint of its watched files is in every run key, so an
edit is trained afresh as a new experiment of the same name, and the old runs stay stored."""

import sys

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.code import code_fingerprint, watched_files
from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.runner import run_specs
from layerorder.experiment.setup import make_experiment


def _experiment(command, **extra):
    return make_experiment({"command": command, "metric": "m", "orders": ["a", "b"],
                            "seeds": 2, **extra})


def test_the_commands_code_files_are_watched_and_an_edit_changes_every_key(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "data.csv").write_text("1,2\n")
    command = f"{sys.executable} train.py --data data.csv --order {{order}}"
    assert [str(p) for p in watched_files(make_config({"command": command}))] == ["train.py"]
    before = _experiment(command)
    keys = {s.run_key for s in run_specs(before)}
    (tmp_path / "train.py").write_text("print(2)\n")
    after = _experiment(command)
    assert before.code_hash and after.code_hash != before.code_hash
    assert keys.isdisjoint(s.run_key for s in run_specs(after))
    assert before.grid() != after.grid()  # a new experiment of the same name
    tagged = _experiment(command, code_version="v2")
    assert {s.run_key for s in run_specs(tagged)}.isdisjoint(s.run_key for s in run_specs(after))


def test_watch_names_the_files_and_a_missing_one_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.py").write_text("x = 1\n")
    config = make_config({"command": "run {order}", "watch": ["lib.py"]})
    assert code_fingerprint(config) is not None
    with pytest.raises(ConfigError, match="--watch file 'nope.py' does not exist"):
        code_fingerprint(make_config({"command": "run {order}", "watch": ["nope.py"]}))
    assert code_fingerprint(make_config({"command": "run {order}"})) is None


def test_a_train_target_watches_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fit.py").write_text("def train(trial):\n    return 1.0\n")
    first = make_experiment({"train": "fit.py:train", "metric": "m", "orders": ["a"]})
    (tmp_path / "fit.py").write_text("def train(trial):\n    return 2.0\n")
    second = make_experiment({"train": "fit.py:train", "metric": "m", "orders": ["a"]})
    assert first.code_hash and first.code_hash != second.code_hash


def test_built_in_runs_have_no_code_fingerprint():
    assert make_experiment({"orders": ["standard"], "seeds": 1}).code_hash is None
