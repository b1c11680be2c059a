"""The built-in architectures as names and facts, torch-free: which settings each one takes.

``layerorder.models`` builds them; the experiment settings read from here which settings have an
effect on which architecture (so that a setting with none is left out of run keys and reported),
without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable

from layerorder.errors import BlockError, LayerorderError, ModelError, did_you_mean
from layerorder.order import PRESETS, Order, parse_order
from layerorder.placements import parse_placement, parse_recurrent, placement_specs, recurrent_specs

# the plain stacks, where a pre-activation order gets a final norm and activation (``final_norm``)
PLAIN_ARCHS = ("mlp", "cnn1d", "cnn2d")

# the options each architecture's builder takes beyond width, depth and the dropout rate
ARCH_OPTIONS: dict[str, tuple[str, ...]] = {
    **{arch: ("final_norm",) for arch in PLAIN_ARCHS},
    "resnet": ("dropout_at",),
    "transformer": ("heads",),
    "rnn": (),
}

ARCH_NOTES = {
    "mlp": "linear blocks (default 2 x 128), then a linear head",
    "cnn1d": "3 conv blocks of width 32, kernel 5, strides 1-2-2 (with a pool in the order:"
    " stride 1 and the order's pool), linear head (sized for MNIST-1D)",
    "cnn2d": "VGG-style: 3 stages of two 3x3 blocks + max-pool (the order's pool, in the second"
    " block, when it has one), widths 32-64-128, global pool",
    "resnet": "CIFAR-style ResNet, depth 6n+2 (default 20); the order names the residual unit",
    "transformer": "encoder over the input's positions as tokens (default 2 layers, width 64,"
    " 4 heads); the order names the norm placement of every sublayer (post-ln, pre-ln,"
    " sandwich-ln, pre-rmsnorm, post-bn, no-norm, ...)",
    "rnn": "LSTM or GRU over the input's positions as steps (default 1 layer of 64); the order"
    " names the cell and its norm (lstm-none, lstm-ln-ih, lstm-ln-hh, lstm-ln, lstm-bn-ih,"
    " gru-...)",
}


# the residual units of He et al. 2016 ("Identity Mappings in Deep Residual Networks", Figure 4),
# the orders ``resnet`` takes (``layerorder.blocks.residual`` builds them)
RESIDUAL_VARIANTS = (
    "original",
    "bn-after-add",
    "relu-before-add",
    "relu-only-preact",
    "full-preact",
)
# the block presets resnet takes as the units they describe
PRESET_TO_UNIT = {"standard": "original", "preact": "full-preact"}
TRANSFORMER_WIDTH, TRANSFORMER_HEADS = 64, 4  # the transformer's width and heads when unset

# what ``compare`` compares on an architecture when no order is given: the plain stacks take
# the settings' default (the CNN presets); the others their own question, five orders each, as
# many as the presets: every residual unit; post-LN against pre-LN with the sandwich, RMSNorm and
# no norm beside them; an LSTM with each norm placement of Ba et al. and Laurent et al.
ARCH_DEFAULT_ORDERS: dict[str, tuple[str, ...]] = {
    "resnet": RESIDUAL_VARIANTS,
    "transformer": ("post-ln", "pre-ln", "sandwich-ln", "pre-rmsnorm", "no-norm"),
    "rnn": ("lstm-none", "lstm-ln-ih", "lstm-ln-hh", "lstm-ln", "lstm-bn-ih"),
}


def default_orders(arch: str) -> tuple[str, ...] | None:
    """The orders ``arch`` compares when none are given (None: the settings' default)."""
    return ARCH_DEFAULT_ORDERS.get(arch)


def takes_option(arch: str, option: str) -> bool:
    """Whether built-in ``arch`` takes ``option`` (one of ``ARCH_OPTIONS``'s)."""
    return option in ARCH_OPTIONS.get(arch, ())


def uses_dropout(arch: str, dropout_at: str) -> bool:
    """Whether built-in ``arch`` has dropout layers: all do, except a ResNet whose units have
    none (He et al.'s; ``dropout_at = "none"``)."""
    return arch != "resnet" or dropout_at != "none"


def check_arch(arch: str) -> str:
    name = str(arch).strip().lower()
    if name not in ARCH_OPTIONS:
        raise ModelError(f"unknown architecture '{arch}'" + did_you_mean(name, ARCH_OPTIONS))
    return name


def resolve_unit(order: str) -> str:
    name = str(order).strip().lower()
    name = PRESET_TO_UNIT.get(name, name)
    if name not in RESIDUAL_VARIANTS:
        raise ModelError(
            f"resnet takes a residual unit as its order, not '{order}'"
            + did_you_mean(name, RESIDUAL_VARIANTS)
        )
    return name


def _named_orders() -> dict[str, Callable[[], list[str]]]:
    return {"resnet": lambda: list(RESIDUAL_VARIANTS), "transformer": placement_specs,
            "rnn": recurrent_specs}


def named_orders(arch: str) -> tuple[str, ...] | None:
    """Every order of an architecture whose order is a name (resnet's residual units, the
    transformer's norm placements, the rnn's cells and norms); None for block orders."""
    family = _named_orders().get(check_arch(arch))
    return None if family is None else tuple(family())


def _arch_of(order: str) -> str | None:
    """The architecture whose named order ``order`` is (resnet's units, the transformer's
    placements, the rnn's cells), or None (none, or a block preset as well)."""
    text = str(order).strip().lower()
    if text in PRESETS:  # a block preset too ('no-norm'): the plain stacks' as much as any other
        return None
    return next((arch for arch, family in _named_orders().items() if text in family()), None)


def check_order_for_arch(arch: str, order: str | Order) -> str | Order:
    """Validate an order for an architecture without building anything. An order of another
    architecture ('post-ln' given to a CNN) is refused with the architecture it belongs to."""
    name = check_arch(arch)
    try:
        return _check_order_for_arch(name, order)
    except (LayerorderError, ValueError):
        other = None if isinstance(order, Order) else _arch_of(order)
        if other is None or other == name:
            raise
        own = named_orders(name)
        kind = ("a block order (a preset or tokens like 'conv-bn-relu')" if own is None
                else f"its own orders: {', '.join(own)}")
        raise ModelError(f"order '{order}' belongs to --arch {other}, not {name}; use --arch"
                         f" {other}, or give {name} {kind}") from None


def _check_order_for_arch(name: str, order: str | Order) -> str | Order:
    if name == "resnet":
        return resolve_unit(order.label if isinstance(order, Order) else order)
    if name in ("transformer", "rnn"):
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


def check_heads(width: int | None, heads: int | None) -> tuple[int, int]:
    width, heads = width or TRANSFORMER_WIDTH, heads or TRANSFORMER_HEADS
    if width % heads:
        raise ModelError(f"transformer width {width} is not divisible by {heads} heads;"
                         " set --width to a multiple of --heads")
    return width, heads


def _recurrent_norm(order: str) -> str | None:
    spec = parse_recurrent(order)
    return spec.norm_ih or ("ln" if spec.norm_hh else None)


def _placement_norm(order: str) -> str | None:
    norm = parse_placement(order).norm
    return None if norm == "none" else norm


# architecture -> the normalisation an order of it uses (bn, ln, gn, in, rmsnorm; None: none):
# a block order names its norm stage; every residual unit of He et al. has BatchNorm; a
# transformer placement and a recurrent cell name theirs
_ORDER_NORMS: dict[str, Callable[[str], str | None]] = {
    **{arch: lambda order: parse_order(order).norm for arch in PLAIN_ARCHS},
    "resnet": lambda order: "bn",
    "transformer": _placement_norm,
    "rnn": _recurrent_norm,
}


def order_norm(arch: str, order: str) -> str | None:
    """The normalisation ``order`` uses on built-in ``arch`` (``lstm-ln-ih`` -> ``ln``,
    ``conv-bn-relu`` -> ``bn``, ``no-norm`` -> None)."""
    name = check_arch(arch)
    check_order_for_arch(name, order)
    return _ORDER_NORMS[name](str(order).strip().lower())
