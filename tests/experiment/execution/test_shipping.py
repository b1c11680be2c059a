"""What the driver sends to worker processes: only the run's user data set and model factory."""

import threading

import pytest
import torch
from torch import nn

from layerorder.data.memory import register_arrays
from layerorder.errors import ConfigError
from layerorder.experiment.configuration.callables import register_model_factory
from layerorder.experiment.execution import shipping
from layerorder.experiment.execution.executors import ProcessExecutor
from layerorder.experiment.execution.worker import RunTask


def _factory(width):
    def make():
        return nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 2))

    return make


def test_nothing_to_ship_for_built_in_data_and_models():
    assert shipping.snapshot("mnist1d", None) is None
    assert shipping.snapshot("synthetic", "models.py:make") is None


def test_only_the_runs_data_set_and_factory_are_shipped():
    x = torch.randn(20, 4)
    y = torch.arange(20) % 2
    name = register_arrays((x, y, x, y))
    target = register_model_factory(_factory(8))
    other = register_model_factory(_factory(9))
    assert target != other
    blob = shipping.snapshot(name.upper(), target)  # names resolve as the registry does
    import cloudpickle

    shipped = cloudpickle.loads(blob)
    assert [e.name for e in shipped["datasets"]] == [name]
    assert list(shipped["factories"]) == [target]
    assert cloudpickle.loads(shipping.snapshot(None, target))["datasets"] == []


def test_fingerprint_follows_code_and_initial_weights_and_keeps_the_rng():
    class Scaled(nn.Module):
        def __init__(self, scale):
            super().__init__()
            self.lin = nn.Linear(4, 2)
            with torch.no_grad():
                self.lin.weight.mul_(scale)

        def forward(self, x):
            return self.lin(x)

    def make(scale=1.0):
        return Scaled(scale)

    state = torch.get_rng_state()
    a = register_model_factory(make)
    assert torch.equal(state, torch.get_rng_state())
    assert register_model_factory(make) == a  # the same factory resumes its runs
    make.__defaults__ = (2.0,)  # same code and structure, other initial weights
    assert register_model_factory(make) != a


def test_an_unpicklable_factory_is_a_clear_error():
    lock = threading.Lock()

    def make():
        assert lock is not None
        return nn.Linear(4, 2)

    target = register_model_factory(make)
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        shipping.snapshot("mnist1d", target)


def test_a_worker_that_cannot_install_reports_why():
    tasks = [RunTask(1, "standard", {"order": "standard", "seed": 0, "lr": 0.01})]
    executor = ProcessExecutor(1, 1, shipped=b"not a pickle")
    (outcome,) = list(executor.execute(iter(tasks)))
    assert outcome.status == "failed" and "cannot load the shipped" in outcome.error


def test_a_function_of_the_users_own_module_is_sent_by_value(tmp_path, monkeypatch):
    """A train function imported from the user's own file (not an installed package) reaches a
    worker that cannot import that file, and cloudpickle's registry is left as it was."""
    import subprocess
    import sys

    import cloudpickle

    from layerorder.experiment.configuration.callables import register_train

    (tmp_path / "own_train_mod.py").write_text("def train(trial):\n    return 41.0 + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import own_train_mod

    target = register_train(own_train_mod.train)
    blob = shipping.snapshot(None, target)
    assert cloudpickle.list_registry_pickle_by_value() == set()
    (tmp_path / "blob").write_bytes(blob)
    code = ("import cloudpickle, sys; f = cloudpickle.loads(open(sys.argv[1], 'rb').read())"
            f"['factories'][{target!r}]; print(f(None))")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "blob")], cwd=elsewhere,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "42.0", out.stderr
