"""--warmup: a linear rise, then the schedule's own shape (checked against torch's schedulers)."""

import pytest
import torch

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.training.loop import make_schedule, warmup_steps
from layerorder.experiment.validate import validate


def _lrs(schedule, total, warmup=0.0, lr=0.1):
    cfg = make_config({"schedule": schedule, "warmup": warmup, "lr": lr, "optimizer": "sgd"})
    (run,) = [r for r in make_config({**cfg.to_dict(), "orders": ["standard"], "seeds": 1})
              .runs()]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_schedule(opt, run, total)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_warmup_rises_linearly_then_follows_the_schedule():
    lrs = _lrs("constant", 20, warmup=4)
    assert lrs[:5] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    assert warmup_steps(0.25, 20) == 5 and warmup_steps(3, 20) == 3


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_after_warmup_the_shape_is_torchs(schedule):
    # a one-step warmup leaves the schedule itself: the closed forms equal torch's schedulers
    ours = _lrs(schedule, 40, warmup=1)
    theirs = _lrs(schedule, 40)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)


def test_warmup_with_onecycle_is_refused():
    cfg = make_config({"warmup": 0.1})
    with pytest.raises(ConfigError, match="onecycle has its own warmup"):
        validate(cfg)
    assert validate(make_config({"warmup": 0.1, "schedule": "cosine"})) == []
