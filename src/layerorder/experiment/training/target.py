"""Models for a run: a layerorder architecture, or a user's model rewritten to the run's order.

``compare --model models.py:make_model --order as-is --order conv-relu-bn ...`` ablates a user's
own model: every order is the same model rewritten by ``layerorder.modelgraph.rewrite_model``
(weights of unchanged layers kept), and ``as-is`` is the model untouched.
"""

from __future__ import annotations

from torch import nn

from layerorder.errors import ConfigError
from layerorder.modelgraph.rewrite import AS_IS


def target_variant(target: str, order: str, in_shape: tuple[int, ...], num_classes: int):
    """Load ``target`` and rewrite it to ``order``; raise ``ConfigError`` if it does not apply."""
    from layerorder.experiment.configuration.callables import factory_model
    from layerorder.modelgraph import LintError, example_input, load_target, rewritten

    model = factory_model(target)
    if model is None:
        model = load_target(target).model
    example = example_input((2, *in_shape))
    try:
        model = rewritten(model, order, example)
    except LintError as exc:
        raise ConfigError(
            f"model '{target}': {exc}; use '{AS_IS}' for the model as it is"
        ) from None
    _check_output(model, example, num_classes, target)
    return model


def _check_output(model, example, num_classes: int, target: str) -> None:
    import torch

    with torch.no_grad():
        model.eval()
        try:
            out = model(example)
        except Exception as exc:  # the user's model on the data set's input shape
            raise ConfigError(
                f"model '{target}' cannot run on inputs of shape {tuple(example.shape)}: {exc}"
            ) from None
        model.train()
    if out.dim() != 2 or out.shape[1] != num_classes:
        raise ConfigError(
            f"model '{target}' outputs shape {tuple(out.shape)}, but the data set has"
            f" {num_classes} classes: it must return (batch, {num_classes}) logits"
        )


def build_run_model(cfg, data) -> nn.Module:
    """The model of one run, built under the current (already seeded) RNG state."""
    if cfg.model:
        return target_variant(cfg.model, cfg.order, tuple(data.in_shape), data.num_classes)
    from layerorder.models import build_model

    return build_model(
        cfg.arch,
        cfg.order,
        in_shape=data.in_shape,
        num_classes=data.num_classes,
        width=cfg.width,
        depth=cfg.depth,
        p_drop=cfg.p_drop,
        heads=cfg.heads,
        dropout_at=cfg.dropout_at,
        final_norm=cfg.final_norm,
    )
