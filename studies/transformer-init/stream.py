"""The residual stream along depth at initialisation: the standard deviation of the stream after
each sublayer (the probe's ``Residual`` stages), post-LN against pre-LN, 6 layers, MNIST-1D probe
batch, mean over 10 seeds. Run: python studies/transformer-init/stream.py"""

import statistics

import torch

from layerorder.data import load_dataset
from layerorder.models import build_model
from layerorder.probe import probe_batch, record

data = load_dataset("mnist1d")
x, _ = probe_batch(data.x_train, data.y_train)
for order in ("post-ln", "pre-ln"):
    per_stage: dict[str, list[float]] = {}
    for seed in range(10):
        torch.manual_seed(seed)
        model = build_model("transformer", order, in_shape=data.in_shape,
                            num_classes=data.num_classes, depth=6).train()
        with torch.no_grad(), record(model) as rec:
            model(x)
        for s in rec.stages:
            if s.kind == "Residual":
                per_stage.setdefault(s.name.removeprefix("features."), []).append(s.std)
    print(order, "  ".join(f"{k} {statistics.mean(v):.2f}" for k, v in per_stage.items()))
