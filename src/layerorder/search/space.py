"""The candidate orders of a block: every placement of its stages, with exact duplicates merged.

From a base order (``conv-bn-relu-drop-maxpool``) the space is every arrangement of its stages,
optionally with each norm kind and activation from lists the user gives, that the architecture
accepts. Two arrangements that compute the same function, in training and at inference, given
the same weights and random numbers, are one candidate; the merged spellings are kept:

- a non-decreasing activation next to a max-pool (``relu-maxpool`` = ``maxpool-relu``): max
  commutes with a monotone function;
- ReLU next to dropout (``relu-drop`` = ``drop-relu``): dropout multiplies by 0 or
  1/(1-p) >= 0, and max(0, c x) = c max(0, x) bit for bit.

Activations with a learned or random slope (PReLU, RReLU) are not merged with max-pooling: a
negative slope learned in training would break the identity.

Nothing else is merged by rule: BatchNorm next to average pooling, for example, sees other batch
statistics in training, so those orders differ.

With ``fingerprint(spec)`` (``search.model_space.SameFunction.fingerprint``: the model built and
run on real inputs), the rules are not used: spellings merge exactly when the model itself
computes the same function. That finds what no rule about kinds can (an ``identity`` activation
or a ``none`` norm is the same network wherever it sits, unless it changes a bias; a
pre-activation MLP whose only stage is its activation is the post-activation one, since its
first block starts at the weight layer and a final activation follows the last), and refuses
what a rule would wrongly claim (a user's AlphaDropout, spelt ``drop``, does not commute with
ReLU).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from layerorder.activations import MONOTONE_ACTS, POSITIVELY_HOMOGENEOUS_ACTS, VARYING_SLOPE
from layerorder.errors import LayerorderError
from layerorder.order import Order, Stage, format_order, parse_order

MAX_CANDIDATES = 500  # arrangements tried before the space is called too large


@dataclass(frozen=True)
class Candidate:
    spec: str  # the order spec trained, e.g. conv-bn-relu-drop
    same_as: tuple[str, ...] = ()  # other spellings that compute the same function


@dataclass(frozen=True)
class OrderSpace:
    base: str
    arch: str
    candidates: tuple[Candidate, ...]
    rejected: tuple[tuple[str, str], ...] = ()  # (spec, why the architecture refuses it)

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(c.spec for c in self.candidates)

    @property
    def merged(self) -> int:
        return sum(len(c.same_as) for c in self.candidates)


def _commute(a: Stage, b: Stage) -> bool:
    """Whether adjacent stages ``a`` then ``b`` give the same output in either order."""
    pair = {a.role, b.role}
    act = a if a.role == "act" else b if b.role == "act" else None
    if act is None:
        return False
    other = b if act is a else a
    if pair == {"act", "pool"}:
        return other.kind == "maxpool" and act.kind in MONOTONE_ACTS - VARYING_SLOPE
    if pair == {"act", "dropout"}:
        return act.kind in POSITIVELY_HOMOGENEOUS_ACTS
    return False


def canonical(stages: tuple[Stage, ...]) -> tuple[Stage, ...]:
    """One representative per class of orders that compute the same function: adjacent
    commuting stages sorted (pool and dropout before the activation), repeatedly."""
    rank = {"pool": 0, "dropout": 1, "act": 2}
    out = list(stages)
    changed = True
    while changed:
        changed = False
        for i in range(len(out) - 1):
            a, b = out[i], out[i + 1]
            if _commute(a, b) and rank.get(a.role, 9) > rank.get(b.role, 9):
                out[i], out[i + 1] = b, a
                changed = True
    return tuple(out)


def _candidates(specs: list[str], key: Callable[[str], Hashable], first: str | None = None,
                blocks: bool = True) -> tuple[Candidate, ...]:
    """``specs`` grouped by ``key``, in order of first appearance (the group of ``first``
    first). Each group is named by ``first``, else (``blocks``: order specs) its sorted spelling
    (dropout and pooling before the activation they commute with), else its first."""
    groups: dict[Hashable, list[str]] = {}
    for spec in specs:
        groups.setdefault(key(spec), []).append(spec)
    ordered = sorted(groups.values(), key=lambda g: first not in g)
    out = []
    for group in ordered:
        sorted_spelling = [s for s in group if canonical(parse_order(s).stages)
                           == parse_order(s).stages] if blocks else []
        name = first if first in group else (sorted_spelling or group)[0]
        out.append(Candidate(name, tuple(s for s in group if s != name)))
    return tuple(out)


def _kinds(kinds: tuple[str, ...], role: str, flag: str, order: Order) -> tuple[str, ...]:
    """Each kind checked to be a stage of ``role``; the base must have such a stage."""
    if not kinds:
        return ()
    if not any(s.role == role for s in order.stages):
        raise LayerorderError(f"{flag} replaces the {role} stage, but '{order.spec}' has none;"
                              f" add one to --base")
    out = []
    for kind in kinds:
        stage = next((s for s in parse_order(f"conv-{kind}").stages if s.role != "weight"), None)
        if stage is None or stage.role != role:
            found = stage.role if stage is not None else "a weight layer"
            raise LayerorderError(f"{flag}: '{kind}' is {found}, not {role}; see layerorder"
                                  " orders for the tokens of each role")
        out.append(stage.kind)
    return tuple(out)


def _variants(stages: tuple[Stage, ...], norms: tuple[str, ...], acts: tuple[str, ...]):
    """The base stages with each norm kind and activation from the lists (none: as given)."""
    choices = []
    for stage in stages:
        if stage.role == "norm" and norms:
            choices.append([Stage("norm", kind) for kind in norms])
        elif stage.role == "act" and acts:
            choices.append([Stage("act", kind) for kind in acts])
        else:
            choices.append([stage])
    return itertools.product(*choices)


def named_space(
    arch: str,
    *,
    norms: tuple[str, ...] = (),
    fingerprint: Callable[[str], Hashable] | None = None,
) -> OrderSpace:
    """The space of an architecture whose orders are names (``models.named_orders``): every one
    of them (``norms``: only those whose norm is listed; ``none`` keeps the norm-free ones),
    merged where ``fingerprint`` finds the same function."""
    from layerorder.archs import named_orders

    names = named_orders(arch)
    if names is None:
        raise LayerorderError(f"{arch} takes block orders; use order_space")
    if norms:
        if arch == "resnet":
            raise LayerorderError("--norms: resnet's residual units fix their norms; search"
                                  " --arch cnn2d, or compare the units as they are")
        known = {part for name in names for part in name.split("-")[1:]} | {"none"}
        unknown = [n for n in norms if n not in known]
        if unknown:
            raise LayerorderError(f"--norms: {arch} has no norm '{unknown[0]}'; its norms are"
                                  f" {', '.join(sorted(known))}")
        names = tuple(n for n in names
                      if set(n.split("-")[1:]) & set(norms) or n == "no-norm" and "none" in norms)
    return OrderSpace(arch, arch, _candidates(list(names), fingerprint or (lambda n: n),
                                              blocks=False))


def order_space(
    base: str | Order,
    arch: str | None,
    *,
    norms: tuple[str, ...] = (),
    acts: tuple[str, ...] = (),
    weight_first: bool = False,
    check: Callable[[str], object] | None = None,
    fingerprint: Callable[[str], Hashable] | None = None,
) -> OrderSpace:
    """Every arrangement of ``base``'s stages (``weight_first``: only those that start with the
    weight layer) that ``arch`` accepts (None: a user's own run, which takes every one),
    duplicates merged, the base's own order first.
    ``check(spec)`` raises for an order the user's model cannot take (``compare --model``'s own
    check); those are rejected with its reason. ``fingerprint(spec)``: equal exactly for
    spellings that compute the same function; with it, the model decides every merge (see the
    module docstring), without it the rules do."""
    from layerorder.archs import check_order_for_arch
    from layerorder.errors import ModelError

    order = parse_order(base)
    norms = _kinds(norms, "norm", "--norms", order)
    acts = _kinds(acts, "act", "--acts", order)
    accepted: list[str] = []
    rejected: list[tuple[str, str]] = []
    tried = 0
    for variant in _variants(order.stages, norms, acts):
        for arrangement in itertools.permutations(variant):
            if weight_first and arrangement[0].role != "weight":
                continue
            tried += 1
            if tried > MAX_CANDIDATES:
                raise LayerorderError(
                    f"the order space of '{order.spec}' has more than {MAX_CANDIDATES}"
                    " arrangements; give fewer --norms/--acts or --weight-first"
                )
            spec = format_order(Order(tuple(arrangement)))
            if spec in accepted:
                continue  # a stage repeated in the base gives the same arrangement twice
            try:
                if arch is not None:
                    check_order_for_arch(arch, spec)
                if check is not None:
                    check(spec)
            except (ModelError, LayerorderError) as exc:
                rejected.append((spec, str(exc)))
                continue
            accepted.append(spec)
    rule = lambda spec: canonical(parse_order(spec).stages)  # noqa: E731
    base = order.spec if order.spec in accepted else None
    if base is None:  # the base itself refused: its group, if any, still comes first
        base = next((s for s in accepted if rule(s) == rule(order.spec)), None)
    space = _candidates(accepted, fingerprint or rule, first=base)
    return OrderSpace(order.spec, arch, space, tuple(rejected))
