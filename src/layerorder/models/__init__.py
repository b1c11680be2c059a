"""Architectures that take an order: mlp, cnn1d, cnn2d, resnet, transformer and rnn."""

from __future__ import annotations

from collections.abc import Callable

from layerorder.archs import ARCH_NOTES, ARCH_OPTIONS
from layerorder.blocks.registry import BlockError
from layerorder.errors import did_you_mean
from layerorder.models.base import LayerOrderNet, ModelError, check_positive, wrap_block_error
from layerorder.models.cnn import build_cnn1d, build_cnn2d
from layerorder.models.mlp import build_mlp
from layerorder.models.resnet import RESIDUAL_VARIANTS, build_resnet, resolve_unit
from layerorder.models.rnn import build_rnn
from layerorder.models.transformer import build_transformer
from layerorder.order import DEFAULT_P_DROP, Order, parse_order

ARCHS: dict[str, Callable[..., LayerOrderNet]] = {
    "mlp": build_mlp,
    "cnn1d": build_cnn1d,
    "cnn2d": build_cnn2d,
    "resnet": build_resnet,
    "transformer": build_transformer,
    "rnn": build_rnn,
}


def _named_orders() -> dict[str, Callable[[], list[str]]]:
    from layerorder.blocks.recurrent import recurrent_specs
    from layerorder.blocks.sublayer import placement_specs

    return {"resnet": lambda: list(RESIDUAL_VARIANTS), "transformer": placement_specs,
            "rnn": recurrent_specs}


def named_orders(arch: str) -> tuple[str, ...] | None:
    """Every order of an architecture whose order is a name (resnet's residual units, the
    transformer's norm placements, the rnn's cells and norms); None for block orders."""
    family = _named_orders().get(check_arch(arch))
    return None if family is None else tuple(family())


def check_arch(arch: str) -> str:
    name = str(arch).strip().lower()
    if name not in ARCHS:
        raise ModelError(f"unknown architecture '{arch}'" + did_you_mean(name, ARCHS))
    return name


def check_order_for_arch(arch: str, order: str | Order) -> str | Order:
    """Validate an order for an architecture without building anything."""
    name = check_arch(arch)
    if name == "resnet":
        return resolve_unit(order.label if isinstance(order, Order) else order)
    if name in ("transformer", "rnn"):
        from layerorder.blocks.recurrent import parse_recurrent
        from layerorder.blocks.sublayer import parse_placement

        parse = parse_placement if name == "transformer" else parse_recurrent
        try:
            return parse(order.label if isinstance(order, Order) else order).spec
        except BlockError as exc:
            raise ModelError(str(exc)) from None
    parsed = parse_order(order)
    if name == "mlp" and parsed.pool is not None:
        raise ModelError(
            f"order '{parsed.spec}' has a pool stage, but mlp has no spatial dimensions to pool;"
            " use --arch cnn1d or cnn2d, or leave the pool out"
        )
    return parsed


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
]
