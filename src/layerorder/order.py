"""The order-spec language: parse, validate and format layer orders.

An order is a sequence of stages; each stage has a *role* (weight, norm, act, dropout, pool) and
a *kind* (``conv``, ``bn``, ``relu``, ``drop``, ``maxpool``, ...). Spec strings join tokens
with ``-``::

    conv-bn-relu-drop     Ioffe & Szegedy 2015: g(BN(Wu)), dropout last
    conv-relu-bn-drop     activation first (fastai, Keras examples)
    bn-relu-conv-drop     pre-activation (He et al. 2016)
    conv-relu-drop-bn     dropout right before BN: variance shift (Li et al. 2019)
    conv-bn-relu-maxpool  pooling last (ResNet's stem; VGG without BN)

Pool tokens carry their window: ``maxpool`` (alias ``pool``) and ``avgpool`` are 2x2 with
stride 2; ``maxpool3`` is 3x3 with stride 3; ``maxpool3s2`` is 3x3 with stride 2 (ResNet's stem).

This module is pure: it builds no torch modules. ``layerorder.blocks`` turns an ``Order`` into one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from layerorder.activations import BY_TOKEN, MONOTONE_ACTS, SPEC_TOKENS
from layerorder.errors import LayerorderError, closest, did_you_mean

ROLES = ("weight", "norm", "act", "dropout", "pool")

# canonical token -> role. The activations are ``layerorder.activations``'; one registered later
# with ``layerorder.blocks.register_activation`` is added by ``register_token``.
_TOKENS: dict[str, str] = {
    "conv": "weight",
    "linear": "weight",
    "bn": "norm",
    "gn": "norm",
    "ln": "norm",
    "in": "norm",
    "none": "norm",
    **{token: "act" for token in SPEC_TOKENS},
    "drop": "dropout",
    "dropch": "dropout",
    "maxpool": "pool",
    "avgpool": "pool",
}

_ALIASES: dict[str, str] = {
    "batchnorm": "bn",
    "groupnorm": "gn",
    "layernorm": "ln",
    "instancenorm": "in",
    "dropout": "drop",
    "drop2d": "dropch",
    "dropout2d": "dropch",
    "channeldrop": "dropch",
    "fc": "linear",
    "dense": "linear",
    "leaky_relu": "leakyrelu",
    "lrelu": "leakyrelu",
    "swish": "silu",
    "pool": "maxpool",
    "meanpool": "avgpool",
}

# a pool token with its window: maxpool, maxpool3 (3x3, stride 3), maxpool3s2 (3x3, stride 2)
_POOL_TOKEN = re.compile(r"^([a-z]+?)(\d+)?(?:s(\d+))?$")
POOL_DEFAULT = 2  # kernel and stride of a bare pool token
POOL_MAX = 16

# where pooling goes: the placements people use, with what each does (``layerorder orders``)
POOL_EXAMPLES: dict[str, str] = {
    "conv-bn-relu-maxpool": "pool last: ResNet's stem; VGG's conv-relu-pool with BN added",
    "conv-relu-maxpool-bn": "activation, pool, then BN over the pooled map",
    "conv-maxpool-bn-relu": "pool right after the conv: BN and ReLU work on 4x fewer elements",
    "conv-relu-bn-maxpool": "activation first, pool last (the article's ReLU -> BN -> max-pool)",
}

PRESETS: dict[str, str] = {
    "standard": "conv-bn-relu-drop",
    "act-first": "conv-relu-bn-drop",
    "preact": "bn-relu-conv-drop",
    "drop-before-bn": "conv-relu-drop-bn",
    "no-norm": "conv-relu-drop",
}

PRESET_NOTES: dict[str, str] = {
    "standard": "BN right after the weight layer, before the activation (Ioffe & Szegedy 2015)",
    "act-first": "activation before BN: BN sees skewed, sparse inputs (fastai, Keras examples)",
    "preact": "pre-activation: BN and activation before the weight layer (He et al. 2016)",
    "drop-before-bn": "dropout right before BN: train/test variance shift (Li et al. 2019)",
    "no-norm": "control without normalisation",
}

# norm kinds that subtract a per-channel constant, so a bias right before them is wasted
BIAS_ABSORBING_NORMS = frozenset({"bn", "in"})


class OrderSpecError(LayerorderError, ValueError):
    """An order spec that cannot be parsed or breaks the rules."""


@dataclass(frozen=True)
class Stage:
    """One stage: its role, its kind and, for a pool, its window (kernel and stride)."""

    role: str
    kind: str
    kernel: int | None = None  # pool stages only
    stride: int | None = None

    def __str__(self) -> str:
        """The stage's token: the kind, and a pool's window where it is not the default."""
        if self.role != "pool" or (self.kernel, self.stride) == (POOL_DEFAULT, POOL_DEFAULT):
            return self.kind
        if self.stride == self.kernel:
            return f"{self.kind}{self.kernel}"
        return f"{self.kind}{self.kernel}s{self.stride}"


@dataclass(frozen=True)
class Order:
    """A validated sequence of stages with exactly one weight stage."""

    stages: tuple[Stage, ...]
    preset: str | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __str__(self) -> str:
        return format_order(self)

    @property
    def spec(self) -> str:
        return format_order(self)

    @property
    def label(self) -> str:
        """The preset name when the order came from one, else its spec string."""
        return self.preset or self.spec

    @property
    def weight_index(self) -> int:
        return next(i for i, s in enumerate(self.stages) if s.role == "weight")

    def get(self, role: str) -> Stage | None:
        """The stage with this role, or None."""
        return next((s for s in self.stages if s.role == role), None)

    def index(self, role: str) -> int | None:
        return next((i for i, s in enumerate(self.stages) if s.role == role), None)

    @property
    def norm(self) -> str | None:
        """The norm kind, or None when the order has no (real) normalisation."""
        stage = self.get("norm")
        return None if stage is None or stage.kind == "none" else stage.kind

    @property
    def act(self) -> str | None:
        stage = self.get("act")
        return None if stage is None else stage.kind

    @property
    def pool(self) -> Stage | None:
        """The pool stage (kind, kernel, stride), or None."""
        return self.get("pool")

    def without_pool(self) -> Order:
        """The same order with its pool stage left out (for blocks that must not downsample)."""
        if self.pool is None:
            return self
        return Order(tuple(s for s in self.stages if s.role != "pool"), preset=self.preset)

    def before_weight(self) -> tuple[Stage, ...]:
        return self.stages[: self.weight_index]

    def after_weight(self) -> tuple[Stage, ...]:
        return self.stages[self.weight_index + 1 :]

    def is_preactivation(self) -> bool:
        """True when a norm or activation comes before the weight layer."""
        return any(s.role in ("norm", "act") and s.kind != "none" for s in self.before_weight())

    def for_first_block(self) -> Order:
        """The order for a network's first block: pre-activation stages are dropped there.

        A ReLU on the raw input would discard half of the signal; PreAct-ResNet likewise starts
        with a plain convolution. Dropout before the weight (input dropout) is kept.
        """
        if not self.is_preactivation():
            return self
        kept = [s for s in self.before_weight() if s.role in ("dropout", "pool")]
        return Order((*kept, *self.stages[self.weight_index :]), preset=self.preset)

    def weight_bias(self) -> bool:
        """The bias rule: no bias exactly when the next stage is a norm that removes it. A pool
        between them does not save the bias: max- and average-pooling commute with adding a
        per-channel constant."""
        after = [s for s in self.after_weight() if s.role != "pool"]
        return not (after and after[0].role == "norm" and after[0].kind in BIAS_ABSORBING_NORMS)


def tokens(role: str | None = None) -> list[str]:
    """Canonical tokens, all or of one role, in registry order."""
    return [t for t, r in _TOKENS.items() if role is None or r == role]


def aliases() -> dict[str, str]:
    return dict(_ALIASES)


def role_of(token: str) -> str:
    return _TOKENS[_ALIASES.get(token, token)]


def register_token(token: str, role: str, *, alias_of: str | None = None) -> None:
    """Add a canonical token (or an alias) to the vocabulary."""
    if role not in ROLES:
        raise OrderSpecError(f"unknown role '{role}'" + did_you_mean(role, ROLES))
    token = token.lower()
    if alias_of is not None:
        _ALIASES[token] = alias_of
    else:
        _TOKENS[token] = role


def _pool_stage(low: str, token: str, position: int, spec: str) -> Stage | None:
    """A pool token with its window (``maxpool3s2``), or None when ``low`` is not one."""
    match = _POOL_TOKEN.match(low)
    if match is None or not (match.group(2) or match.group(3)):
        return None
    kind = _ALIASES.get(match.group(1), match.group(1))
    if _TOKENS.get(kind) != "pool":
        return None
    kernel = int(match.group(2)) if match.group(2) else POOL_DEFAULT
    stride = int(match.group(3)) if match.group(3) else kernel
    if not (2 <= kernel <= POOL_MAX and 1 <= stride <= kernel):
        raise OrderSpecError(
            f"pool token '{token}' at position {position} in '{spec}' has kernel {kernel} and"
            f" stride {stride}; use a kernel of 2-{POOL_MAX} and a stride of 1 up to the kernel,"
            " e.g. 'maxpool3s2'"
        )
    return Stage("pool", kind, kernel, stride)


def _normalise_token(token: str, position: int, spec: str) -> Stage:
    if token == "":
        raise OrderSpecError(
            f"empty token at position {position} in '{spec}'; join tokens with a single '-',"
            " e.g. 'conv-bn-relu'"
        )
    low = token.lower()
    canonical = _ALIASES.get(low, low)
    if canonical not in _TOKENS:
        pool = _pool_stage(low, token, position, spec)
        if pool is not None:
            return pool
        raise OrderSpecError(
            f"unknown token '{token}' at position {position} in '{spec}'"
            + did_you_mean(low, list(_TOKENS) + list(_ALIASES))
        )
    role = _TOKENS[canonical]
    if role == "pool":
        return Stage(role, canonical, POOL_DEFAULT, POOL_DEFAULT)
    return Stage(role, canonical)


def _check_roles(stages: list[Stage], spec: str) -> None:
    for role in ROLES:
        found = [(i + 1, s.kind) for i, s in enumerate(stages) if s.role == role]
        if role == "weight" and not found:
            raise OrderSpecError(
                f"order '{spec}' has no weight stage; add 'conv' or 'linear', e.g. 'conv-bn-relu'"
            )
        if len(found) > 1:
            where = ", ".join(f"'{k}' at position {i}" for i, k in found)
            limit = "exactly one" if role == "weight" else "at most one"
            raise OrderSpecError(
                f"order '{spec}' has {len(found)} {role} stages ({where}); a block has {limit}"
            )


def parse_order(spec: str | Order) -> Order:
    """Parse a spec string (or a preset name) into an ``Order``.

    Raises ``OrderSpecError`` (a ``ValueError``) naming the bad token, its 1-based position and
    the closest valid token.
    """
    if isinstance(spec, Order):
        return spec
    if not isinstance(spec, str):
        raise OrderSpecError(
            f"an order spec must be a string like 'conv-bn-relu', got {type(spec).__name__}"
        )
    text = spec.strip()
    if not text:
        raise OrderSpecError("empty order spec; give a preset name or tokens like 'conv-bn-relu'")
    preset = text.lower()
    if preset in PRESETS:
        return Order(parse_order(PRESETS[preset]).stages, preset=preset)
    try:
        stages = [_normalise_token(t, i + 1, text) for i, t in enumerate(text.split("-"))]
    except OrderSpecError:
        # a misspelt preset ('standrd', 'pre-act'): no token of it is valid, a preset is close
        tokens = [t.strip().lower() for t in text.split("-")]
        near = closest(preset, PRESETS)
        windowed = _POOL_TOKEN.match(preset)  # 'maxpool9s9': its own message stands
        if (near is None and len(tokens) == 1 and not (windowed and windowed.group(1) in
                                                        [*_TOKENS, *_ALIASES])
                and closest(preset, [*_TOKENS, *_ALIASES]) is None):
            # one word that is nothing: most likely a preset's name, so name the presets
            raise OrderSpecError(
                f"unknown order '{text}': neither a preset ({', '.join(sorted(PRESETS))}) nor a"
                " token; give a preset or tokens joined by '-', e.g. 'conv-bn-relu'"
                " ('layerorder orders' lists both)"
            ) from None
        if near is None or any(t in _TOKENS or t in _ALIASES or _POOL_TOKEN.match(t) and
                               _TOKENS.get(_ALIASES.get(t, t)) for t in tokens):
            raise
        raise OrderSpecError(
            f"unknown order '{text}'; did you mean the preset '{near}'? ('layerorder orders' lists"
            " presets and tokens)"
        ) from None
    _check_roles(stages, text)
    return Order(tuple(stages))


def format_order(order: Order) -> str:
    """The canonical spec string: ``format_order(parse_order(s)) == s`` for canonical ``s``."""
    return "-".join(str(s) for s in order.stages)


def describe_order(order: Order) -> list[str]:
    """Plain-language lines explaining an order: stages, norm position, bias and why."""
    lines = [f"stages: {' -> '.join(f'{s} ({s.role})' for s in order)}"]
    norm_idx, w_idx = order.index("norm"), order.weight_index
    if order.norm is None:
        lines.append("normalisation: none")
    else:
        side = "input" if norm_idx < w_idx else "output"
        where = "before" if norm_idx < w_idx else "after"
        lines.append(
            f"normalisation: '{order.norm}' {where} the weight layer, over the block's {side}"
            " channels"
        )
    after = [s for s in order.after_weight() if s.role != "pool"]
    through = " (through the pool, which keeps a per-channel constant)" if (
        order.after_weight() and order.after_weight()[0].role == "pool"
    ) else ""
    if order.weight_bias():
        why = (
            f"'{after[0].kind}' follows the weight layer and does not remove a per-channel"
            " constant"
            if after
            else "nothing follows the weight layer inside the block but pooling"
            if order.after_weight()
            else "nothing follows the weight layer inside the block"
        )
        lines.append(f"weight bias: on ({why})")
    else:
        lines.append(
            f"weight bias: off ('{after[0].kind}' after the weight layer{through} subtracts the"
            " per-channel mean, so a bias would be wasted)"
        )
    if order.is_preactivation():
        lines.append(
            "pre-activation: models add a final norm + activation after the last block"
            " (as in PreAct-ResNet)"
        )
    lines.extend(_pool_lines(order))
    lines.extend(_dropout_warnings(order))
    if order.preset:
        lines.append(f"preset '{order.preset}': {PRESET_NOTES[order.preset]}")
    return lines


def _pool_lines(order: Order) -> list[str]:
    pool = order.pool
    if pool is None:
        return []
    where = order.index("pool")
    name = "max-pool" if pool.kind == "maxpool" else "average-pool"
    lines = [
        f"pooling: {name} {pool.kernel}x{pool.kernel}, stride {pool.stride}, at stage"
        f" {where + 1} of {len(order)}"
    ]
    before = order.stages[where - 1] if where > 0 else None
    if before is not None and before.role == "act" and pool.kind == "maxpool":
        if before.kind in MONOTONE_ACTS:
            learned = BY_TOKEN[before.kind].slope == "learned"
            varying = ", while its learned slopes stay >= 0" if learned else ""
            lines.append(
                f"note: max-pool commutes with '{before.kind}' (non-decreasing{varying}), so"
                " pooling first gives the same output with the activation on"
                f" {pool.stride**2}x fewer elements (layerorder rewrite --pool-first)"
            )
        else:
            lines.append(
                f"note: '{before.kind}' is not monotone, so max-pool before or after it differ"
            )
    norm_idx = order.index("norm")
    if order.norm is not None and norm_idx is not None and where < norm_idx:
        lines.append(
            "note: the norm computes its statistics over the pooled map"
            f" ({pool.stride**2}x fewer elements; after a max-pool, a higher mean)"
        )
    return lines


def _dropout_warnings(order: Order) -> list[str]:
    drop_idx, norm_idx, w_idx = order.index("dropout"), order.index("norm"), order.weight_index
    if drop_idx is None or order.norm is None:
        return []
    why = "shifts its variance between training and test (Li et al. 2019)"
    if drop_idx < norm_idx and not drop_idx < w_idx < norm_idx:
        return [f"warning: dropout feeds the norm with no weight layer between; this {why}"]
    if drop_idx == len(order) - 1 and norm_idx == 0:
        return [
            "note: in a stack of these blocks, each block's dropout feeds the next block's norm"
            f" directly; this {why}"
        ]
    return []


# Where a residual network puts dropout (``--dropout-at``): none (He et al. 2016's units have
# none), before each BN of every unit's branch (Li et al. 2019's placement), or once before the
# classifier. Declared here, torch-free, for the settings and the resnet builder alike.
RESNET_DROPOUT_AT = ("none", "branch", "head")

# The rate of a ``drop`` stage when none is given: the ``p_drop`` setting's default and the
# block and model builders' (declared once, here, torch-free).
DEFAULT_P_DROP = 0.1
