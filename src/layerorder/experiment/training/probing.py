"""``probe_orders``: build each order, probe at init, train, probe again; the ``probe`` command
and ``layerorder.probe``.

Every order uses the same seed, data, probe batch and training settings, so what differs between
them is the order alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import ExperimentConfig
from layerorder.experiment.training.loop import evaluate, train
from layerorder.experiment.training.run_data import load_run_data, resolve_device
from layerorder.experiment.training.scope import run_scope
from layerorder.probe.training import EpochProbe, Snapshot
from layerorder.probe.variance import recalibrate_bn
from layerorder.seeding import seed_run


@dataclass(frozen=True)
class OrderProbe:
    label: str
    init: Snapshot
    trained: Snapshot
    epochs: int
    test_acc: float  # after training, eval mode
    recalibrated_acc: float | None  # after BN recalibration (when asked)
    status: str  # done or diverged

    def snapshots(self) -> dict[int, dict[str, list]]:
        """{epoch: {kind: records}} at init (0) and after training."""
        return {
            epoch: {"stage": list(s.stages), "grad": list(s.grads), "varshift": list(s.varshift)}
            for epoch, s in ((0, self.init), (self.epochs, self.trained))
        }


def probe_orders(
    config: ExperimentConfig, *, seed: int = 0, recalibrate: bool = False, progress=None
) -> list[OrderProbe]:
    """Probe every order of ``config`` (its first learning rate) at init and after training."""
    from layerorder.experiment.training.target import build_run_model

    if len(config.lr) > 1:
        raise ConfigError(f"probe takes one learning rate, got {list(config.lr)}")
    device = resolve_device(config.device)
    results = []
    for run in config.runs():
        if run.seed != config.seeds[0] or run.lr != config.lr[0]:
            continue
        run = dataclasses.replace(run, seed=seed)
        with run_scope(None, device):  # the caller's random state is left as it was
            data = load_run_data(run, device)
            seed_run(seed, device)
            model = build_run_model(run, data).to(device)
            prober = EpochProbe(data.x_train, data.y_train, every=run.probe_every,
                                epochs=run.epochs)
            result = train(model, data, run, probe=prober)
            recal = None
            if recalibrate and result.status == "done":
                recalibrate_bn(model, data.x_train)
                recal = evaluate(model, data.x_test, data.y_test)[1]
        last = max(prober.snapshots)
        acc = result.epochs[-1].test_acc
        results.append(
            OrderProbe(
                run.order,
                prober.snapshots[0],
                prober.snapshots[last],
                run.epochs,
                acc,
                recal,
                result.status,
            )
        )
        if progress is not None:
            progress(results[-1])
    return results
