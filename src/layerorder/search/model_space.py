"""The order space of an experiment's own model, a built-in architecture or a user's ``--model``:
the base read from the model's blocks, refusals from ``compare --model``'s own check, and every
merge confirmed by building and running the model.

A rule about stage kinds cannot see a user's modules: the rewrite keeps the model's own layers and
only moves them, and lint spells ``nn.AlphaDropout`` as ``drop``, which does not commute with a
ReLU as dropout does. So ``SameFunction`` builds each spelling from one seed and calls two
spellings the same function only when their parameters have the same names and shapes and, with
the same random values loaded into both, their outputs on real inputs are bit-equal in training
(under the same random numbers) and in eval. Weights are drawn by parameter name, so two
spellings whose builders create the same parameters in another order (and so draw other initial
weights from a run's seed, from the same distribution) are one candidate.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch

from layerorder.archs import named_orders
from layerorder.errors import ConfigError
from layerorder.search.space import OrderSpace, named_space, order_space

CHECK_BATCH = 8  # training rows each spelling runs on
CHECK_SEED = 0  # the weights of every spelling (the run's own seeds are not touched)


@contextlib.contextmanager
def own_rng(seed: int) -> Iterator[None]:
    """The CPU generator seeded with ``seed`` inside, the caller's state restored after. Only
    the CPU generator: ``torch.manual_seed`` would also reseed every GPU's, which ``fork_rng``
    does not restore here (the check builds and runs models on the CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def _random_state(model: torch.nn.Module) -> None:
    """Every float parameter and buffer drawn at random from one seed (running variances
    positive), so that two spellings with the same parameter names and shapes get the same
    weights, and no init (a zero-initialised head) hides a difference between them."""
    generator = torch.Generator().manual_seed(CHECK_SEED)
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            continue
        values = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype)
        tensor.copy_(values.abs() + 0.5 if name.endswith("running_var") else values)


@dataclasses.dataclass(frozen=True)
class Outputs:
    parameters: tuple[tuple[str, tuple[int, ...]], ...]
    train: torch.Tensor
    evaluated: torch.Tensor


class SameFunction:
    """``same(a, b)``: whether orders ``a`` and ``b`` of ``run``'s model compute the same function
    (see the module docstring). Each spelling is built and run once."""

    def __init__(self, run: Any, data: Any) -> None:
        self.run, self.data = run, data
        self._seen: dict[str, Outputs] = {}

    def outputs(self, spec: str) -> Outputs:
        if spec not in self._seen:
            from layerorder.experiment.training.target import build_run_model

            x = self.data.x_train[:CHECK_BATCH]
            with own_rng(CHECK_SEED), torch.no_grad():  # the caller's RNG untouched
                model = build_run_model(dataclasses.replace(self.run, order=spec), self.data)
                shapes = tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())
                _random_state(model)
                torch.default_generator.manual_seed(CHECK_SEED + 1)  # the same dropout masks
                train = model.train()(x)
                evaluated = model.eval()(x)
            self._seen[spec] = Outputs(shapes, train, evaluated)
        return self._seen[spec]

    def fingerprint(self, spec: str) -> tuple:
        """Equal exactly for spellings that compute the same function: the parameter names and
        shapes, and the outputs' shapes, types and bits."""
        o = self.outputs(spec)
        return (o.parameters, *((tuple(t.shape), str(t.dtype), t.numpy().tobytes())
                                for t in (o.train, o.evaluated)))

    def __call__(self, a: str, b: str) -> bool:
        return self.fingerprint(a) == self.fingerprint(b)


def model_base(target: str) -> tuple[str, int, int]:
    """The most common block order of a user's model that is an order spec with stages besides
    the weight layer: (spec, blocks with it, blocks in all)."""
    from layerorder.experiment.configuration.callables import factory_model
    from layerorder.modelgraph import block_orders, load_target
    from layerorder.order import OrderSpecError, parse_order

    with own_rng(CHECK_SEED):  # a factory that draws its weights leaves the caller's RNG alone
        model = factory_model(target)
        if model is None:
            model = load_target(target).model
    found = block_orders(model)
    total = sum(n for _, n in found)
    for spec, n in found:
        try:
            order = parse_order(spec)
        except OrderSpecError:
            continue
        if len(order.stages) > 1:
            return order.spec, n, total
    seen = ", ".join(f"{spec} x{n}" for spec, n in found) or "no weight layers"
    raise ConfigError(f"no block of '{target}' has norm, activation or dropout stages next to its"
                      f" weight layer that rewrite can move ({seen}); give --base ORDER")


def experiment_space(
    config: Any,
    *,
    base: str | None = None,
    norms: tuple[str, ...] = (),
    acts: tuple[str, ...] = (),
    weight_first: bool = False,
    data: Any = None,
) -> OrderSpace:
    """The order space of ``config``'s model (``make_experiment``'s config): ``base`` defaults to
    the standard block, or with ``config.model`` to the model's most common block order (resnet,
    transformer and rnn: every named order of the architecture, ``named_space``); every
    arrangement the model cannot take is refused with its reason, and the model decides every
    merge (``SameFunction.fingerprint``). ``data``: the loaded data set (default: loaded from
    the config)."""
    from layerorder.experiment.execution.runner import load_checked_data

    if config.user_run:  # the user's own run: every arrangement, passed to it as {order}
        return order_space(base or "standard", None, norms=norms, acts=acts,
                           weight_first=weight_first)
    if config.model and (norms or acts):
        flag = "--norms" if norms else "--acts"
        raise ConfigError(f"{flag} cannot change the layers of --model: a rewrite only moves the"
                          " model's own layers; change them in the model's code, or search a"
                          " built-in --arch")
    data = data if data is not None else load_checked_data(config)
    run = next(iter(config.runs()))
    if not config.model and named_orders(config.arch) is not None:
        given = [flag for flag, value in (("--base", base), ("--acts", acts),
                                          ("--weight-first", weight_first)) if value]
        if given:
            raise ConfigError(f"{given[0]} arranges block stages, but {config.arch} takes a"
                              f" named order: its space is every one of them (layerorder"
                              f" orders lists them; --norms narrows a transformer's)")
        return named_space(config.arch, norms=norms,
                           fingerprint=SameFunction(run, data).fingerprint)
    if base is None:
        base = model_base(config.model)[0] if config.model else "standard"
    same = SameFunction(run, data)
    # a user's model is built through compare --model's own check (``target_variant`` raises
    # for an order the model cannot take), so building each spelling once both checks it and
    # gives its fingerprint
    check: Callable[[str], object] | None = same.outputs if config.model else None
    return order_space(base, config.arch, norms=norms, acts=acts, weight_first=weight_first,
                       check=check, fingerprint=same.fingerprint)
