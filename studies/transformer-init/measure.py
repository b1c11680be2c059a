"""Xiong et al. 2020 at initialisation: are the gradients of the last layer's weights larger in
post-LN than in pre-LN? layerorder's transformer on MNIST-1D, the probe's gradient flow on its
probe batch (one train-mode pass), mean gradient norm of the weight layers of the first and the
last encoder layer, 10 seeds, 2 and 6 layers. Run: python studies/transformer-init/measure.py"""

import statistics

import torch

from layerorder.data import load_dataset
from layerorder.models import build_model
from layerorder.probe import probe_batch, probe_once

data = load_dataset("mnist1d")
x, y = probe_batch(data.x_train, data.y_train)
print("layers  order    last-layer grad norm  first-layer grad norm  (mean +- SD over 10 seeds)")
for depth in (2, 6):
    for order in ("post-ln", "pre-ln"):
        last, first = [], []
        for seed in range(10):
            torch.manual_seed(seed)
            model = build_model("transformer", order, in_shape=data.in_shape,
                                num_classes=data.num_classes, depth=depth)
            grads = probe_once(model, x, y).grads
            last.append(statistics.mean(
                g.grad_norm for g in grads if g.name.startswith(f"features.{depth - 1}.")))
            first.append(statistics.mean(
                g.grad_norm for g in grads if g.name.startswith("features.0.")))
        print(f"{depth:>6}  {order:<8} {statistics.mean(last):.3f} +- {statistics.stdev(last):.3f}"
              f"          {statistics.mean(first):.3f} +- {statistics.stdev(first):.3f}")
