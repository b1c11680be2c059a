"""Architectures that take an order: mlp, cnn1d, cnn2d, resnet, transformer and rnn."""

from __future__ import annotations

from collections.abc import Callable

# the checks of an architecture and its orders are torch-free, in ``layerorder.archs``
from layerorder.archs import (
    ARCH_NOTES,
    ARCH_OPTIONS,
    RESIDUAL_VARIANTS,
    check_arch,
    check_order_for_arch,
    named_orders,
)
from layerorder.errors import BlockError, ModelError
from layerorder.models.base import LayerOrderNet, check_positive, wrap_block_error
from layerorder.models.cnn import build_cnn1d, build_cnn2d
from layerorder.models.mlp import build_mlp
from layerorder.models.resnet import build_resnet
from layerorder.models.rnn import build_rnn
from layerorder.models.transformer import build_transformer
from layerorder.order import DEFAULT_P_DROP, Order

ARCHS: dict[str, Callable[..., LayerOrderNet]] = {
    "mlp": build_mlp,
    "cnn1d": build_cnn1d,
    "cnn2d": build_cnn2d,
    "resnet": build_resnet,
    "transformer": build_transformer,
    "rnn": build_rnn,
}


def build_model(
    arch: str,
    order: str | Order,
    *,
    in_shape: tuple[int, ...],
    num_classes: int,
    width: int | None = None,
    depth: int | None = None,
    p_drop: float | None = None,
    heads: int | None = None,
    dropout_at: str = "none",
    final_norm: bool = True,
) -> LayerOrderNet:
    """Build ``arch`` with every block in ``order``; Kaiming init matched to the activation.

    Pre-activation orders in mlp, cnn1d and cnn2d get a final norm + activation before the head
    unless ``final_norm`` is False (the repr says which).
    ``p_drop`` defaults to ``DEFAULT_P_DROP`` (0.1); resnet uses it only where ``dropout_at``
    places dropout (``branch`` or ``head``; ``none`` by default: He et al.'s units have none).
    """
    name = check_arch(arch)
    check_positive("width", width)
    check_positive("depth", depth)
    check_positive("num_classes", num_classes)
    p = DEFAULT_P_DROP if p_drop is None else float(p_drop)
    if not 0.0 <= p < 1.0:
        raise ModelError(f"dropout probability must be in [0, 1), got {p_drop}")
    resolved = check_order_for_arch(name, order)
    options = {"heads": heads, "dropout_at": dropout_at, "final_norm": final_norm}
    try:
        return ARCHS[name](
            resolved,
            in_shape=tuple(in_shape),
            num_classes=num_classes,
            width=width,
            depth=depth,
            p_drop=p,
            **{k: v for k, v in options.items() if k in ARCH_OPTIONS[name]},
        )
    except BlockError as exc:
        raise wrap_block_error(exc, name) from exc


__all__ = [
    "ARCHS",
    "ARCH_NOTES",
    "LayerOrderNet",
    "ModelError",
    "RESIDUAL_VARIANTS",
    "build_model",
    "check_arch",
    "check_order_for_arch",
    "named_orders",
]
