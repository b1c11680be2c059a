"""Shared pieces of the benchmarks: the reference loops written the way a practitioner would."""

from __future__ import annotations

import resource
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from layerorder.blocks import seed_dropout
from layerorder.experiment.configuration.config import ExperimentConfig, RunConfig
from layerorder.experiment.training.loop import steps_per_epoch
from layerorder.experiment.training.run_data import load_run_data
from layerorder.experiment.training.target import build_run_model


def default_grid(epochs: int | None = None, seeds: int | None = None, orders=None):
    values = {}
    if epochs:
        values["epochs"] = epochs
    if seeds:
        values["seeds"] = tuple(range(seeds))
    if orders:
        values["orders"] = tuple(orders)
    return ExperimentConfig(**values)


def make_model(cfg: RunConfig, data):
    torch.manual_seed(cfg.seed)
    return build_run_model(cfg, data)


def minimal_loop(model, data, cfg: RunConfig, same_kernels: bool = True) -> float:
    """The least a hand-written loop does: index batches, Adam, one-cycle, eval per epoch.

    Same batches and schedule as layerorder's loop. With ``same_kernels`` it also uses what
    layerorder's loop uses (the run's dropout mask stream, fused Adam), so both do the same
    arithmetic and the ratio is the loop's own cost; without, it is plain PyTorch (nn.Dropout's
    masks, the default Adam).
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if same_kernels:
        seed_dropout(model, cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=same_kernels or None)
    n = len(data.x_train)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch(n, cfg.batch_size)
    )
    acc = 0.0
    for _ in range(cfg.epochs):
        model.train()
        batches = list(torch.randperm(n, generator=gen).split(cfg.batch_size))
        if len(batches[-1]) == 1:
            batches.pop()
        for idx in batches:
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(data.x_test).argmax(1) == data.y_test).float().mean().item()
    return 100 * acc


def plain_minimal_loop(model, data, cfg: RunConfig) -> float:
    """``minimal_loop`` with plain PyTorch kernels: the strictest reference for a sweep."""
    return minimal_loop(model, data, cfg, same_kernels=False)


def plain_loop(model, data, cfg: RunConfig) -> float:
    """A typical training script: DataLoader over a TensorDataset, loss read every step."""
    torch.manual_seed(cfg.seed)
    loader = DataLoader(
        TensorDataset(data.x_train, data.y_train),
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=False,
    )
    test = DataLoader(TensorDataset(data.x_test, data.y_test), batch_size=1000)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, epochs=cfg.epochs, steps_per_epoch=len(loader)
    )
    acc = 0.0
    for _ in range(cfg.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in test:
                correct += (model(xb).argmax(1) == yb).sum().item()
        acc = correct / len(data.x_test)
    return 100 * acc


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def peak_rss_mib(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def load(cfg: RunConfig):
    return load_run_data(cfg, "cpu")
