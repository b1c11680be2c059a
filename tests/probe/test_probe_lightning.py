"""``ProbeCallback`` in a short real ``Trainer.fit``: the records of every epoch, metrics logged,
and the fit trains exactly as without the callback (Lightning is an optional extra)."""

import logging
import warnings

import pytest
import torch
from torch import nn

from layerorder.data import load_dataset
from layerorder.models import build_model
from layerorder.probe import hook_count


@pytest.fixture(scope="module")
def L():
    """Lightning, imported by the test that uses it, not when this file is collected: it takes
    over a second to import, in every test process that collects the file."""
    return pytest.importorskip("lightning", reason="lightning is not installed")


@pytest.fixture(scope="module")
def Classifier(L):
    class Classifier(L.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return nn.functional.cross_entropy(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    return Classifier


def fit(L, Classifier, data, callbacks):
    torch.manual_seed(3)
    net = build_model("cnn1d", "drop-before-bn", in_shape=data.in_shape,
                      num_classes=data.num_classes, p_drop=0.3)
    module = Classifier(net)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data.x_train, data.y_train), batch_size=50)
    trainer = L.Trainer(max_epochs=2, accelerator="cpu", devices=1, logger=False,
                        enable_progress_bar=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=callbacks)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, loader)
    return module, trainer


def test_callback_probes_every_epoch_without_changing_training(L, Classifier):
    from layerorder.probe.lightning import ProbeCallback

    data = load_dataset("synthetic", num_samples=300)
    plain, _ = fit(L, Classifier, data, [])
    callback = ProbeCallback(data.x_train, data.y_train)
    probed, trainer = fit(L, Classifier, data, [callback])
    assert hook_count(probed) == 0
    for a, b in zip(plain.state_dict().values(), probed.state_dict().values()):
        assert torch.equal(a, b)
    assert {e for e, *_ in callback.records} == {0, 1, 2}
    assert {k for _, k, *_ in callback.records} == {"stage", "grad", "varshift"}
    frame = callback.frame()
    stage = frame[(frame.probe == "stage") & (frame.probe_epoch == 2)].iloc[0]
    snap = callback.snapshots[2].stages[0]
    assert stage["frac_positive"] == pytest.approx(snap.frac_positive)
    logged = trainer.callback_metrics
    assert logged[f"probe/{snap.name}/frac_positive"].item() == pytest.approx(snap.frac_positive)
    grad = callback.snapshots[2].grads[0]
    assert logged[f"probe/{grad.name}/grad_ratio"].item() == pytest.approx(grad.ratio, rel=1e-5)
