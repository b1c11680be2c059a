"""A Lightning module whose blocks are built by the trial (``trial.block``, layerorder's own block
in the run's order), trained by Lightning's Trainer; what it logs is reported by the trial's
Lightning callback (``trial.lightning_callback``):

    layerorder compare \
        --command 'python examples/lightning_order.py --order {order} --seed {seed}' \
        --order conv-bn-relu,bn-relu-conv --seeds 5 --metric val_loss --goal min

Run alone, it trains its default order once.
"""

from __future__ import annotations

import argparse
import logging
import warnings

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

import layerorder


def make_data(n: int = 600):
    """Bars at one of four angles in 12x12 images with noise, the same every run."""
    g = torch.Generator().manual_seed(1234)
    y = torch.randint(0, 4, (n,), generator=g)
    x = 0.6 * torch.randn(n, 1, 12, 12, generator=g)
    eye = torch.eye(12)
    for i, label in enumerate(y.tolist()):
        if label == 0:
            x[i, 0, 5:7, :] += 1.5
        elif label == 1:
            x[i, 0, :, 5:7] += 1.5
        else:
            x[i, 0] += 1.5 * (eye if label == 2 else eye.flip(1))
    cut = n * 2 // 3
    return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])


class Net(L.LightningModule):
    def __init__(self, trial):
        super().__init__()
        self.trial = trial
        self.body = nn.Sequential(trial.block(1, 16, ndim=2), nn.MaxPool2d(2),
                                  trial.block(16, 32, ndim=2), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(32, 4))

    def forward(self, x):
        return self.body(x)

    def training_step(self, batch, _):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch, _):
        x, y = batch
        logits = self(x)
        # averaged over the epoch's batches, weighted by their size: the validation set's mean
        self.log("val_loss", F.cross_entropy(logits, y), batch_size=len(y))
        self.log("val_accuracy", (logits.argmax(1) == y).float().mean(), batch_size=len(y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=3e-3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--order", default="conv-bn-relu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    trial = layerorder.trial(order=args.order, seed=args.seed)
    L.seed_everything(trial.seed, verbose=False)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    train, val = make_data()
    # what the module logs goes to the driver after each epoch (the trial's Lightning callback)
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[trial.lightning_callback()])
    trainer.fit(Net(trial), DataLoader(train, batch_size=50, shuffle=True),
                DataLoader(val, batch_size=200))
    final = trial.reported.final_metrics()
    print(f"{trial.order} seed {trial.seed}: val_loss {final['val_loss']:.4f}")


if __name__ == "__main__":
    main()
