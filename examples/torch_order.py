"""A plain PyTorch training script whose convolution blocks follow an order given on its command
line. It has its own data, augmentation, model code, loss and schedule; layerorder only runs it:

    layerorder compare --command 'python examples/torch_order.py --order {order} --seed {seed}' \
        --order conv-bn-relu,conv-relu-bn --seeds 5 --metric val_accuracy

Run alone (``python examples/torch_order.py``) it trains its default order and prints its metrics.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.nn import functional as F

import layerorder

STAGES = {  # a spec token -> the layer this script builds for it (its own model code)
    "bn": lambda ch: nn.BatchNorm2d(ch),
    "relu": lambda ch: nn.ReLU(),
    "drop": lambda ch: nn.Dropout(0.1),
}


def conv_block(order: str, c_in: int, c_out: int) -> nn.Sequential:
    layers, ch = [], c_in
    for token in order.split("-"):
        if token == "conv":
            layers.append(nn.Conv2d(ch, c_out, 3, padding=1))
            ch = c_out
        else:
            layers.append(STAGES[token](ch))
    return nn.Sequential(*layers)


def make_data(generator: torch.Generator, n: int = 600):
    """Bars at one of four angles in 12x12 images, with noise: a small 4-class task."""
    y = torch.randint(0, 4, (n,), generator=generator)
    x = 0.6 * torch.randn(n, 1, 12, 12, generator=generator)
    for i, label in enumerate(y.tolist()):
        if label == 0:
            x[i, 0, 5:7, :] += 1.5
        elif label == 1:
            x[i, 0, :, 5:7] += 1.5
        else:
            eye = torch.eye(12) if label == 2 else torch.eye(12).flip(1)
            x[i, 0] += 1.5 * eye
    return x[: n * 2 // 3], y[: n * 2 // 3], x[n * 2 // 3:], y[n * 2 // 3:]


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random one-pixel shifts: this script's own augmentation."""
    dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=generator))
    return torch.roll(x, shifts=(dx, dy), dims=(2, 3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--order", default="conv-bn-relu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    trial = layerorder.trial(order=args.order, seed=args.seed)  # the driver's values, if any
    trial.seed_everything()
    generator = torch.Generator().manual_seed(1234)  # the same data for every run
    x_train, y_train, x_val, y_val = make_data(generator)
    order = str(trial.order)
    model = nn.Sequential(conv_block(order, 1, 16), nn.MaxPool2d(2), conv_block(order, 16, 32),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    shuffle = torch.Generator().manual_seed(trial.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for idx in torch.randperm(len(x_train), generator=shuffle).split(50):
            loss = F.cross_entropy(model(augment(x_train[idx], shuffle)), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = F.cross_entropy(logits, y_val).item()
            val_accuracy = (logits.argmax(1) == y_val).float().mean().item()
        trial.report(epoch, val_loss=val_loss, val_accuracy=val_accuracy)
    print(f"{order} seed {trial.seed}: val_loss {val_loss:.4f}, val_accuracy {val_accuracy:.4f}")


if __name__ == "__main__":
    main()
