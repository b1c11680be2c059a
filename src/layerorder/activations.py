"""The activation vocabulary, declared once and torch-free.

Each activation's token (in order specs and lint findings), its ``torch.nn`` class and
``torch.nn.functional`` names, the Kaiming gain its weight layer is initialised for, its
constructor defaults, and the two properties the order rules need:

- ``monotone``: non-decreasing for every input, so max-pooling commutes with it exactly (the same
  output with the pool first). GELU, SiLU, Mish and hard-swish dip below zero and are not;
  LeakyReLU and PReLU are only with a slope >= 0, ELU only with alpha >= 0, which lint checks
  wherever the model holds the setting (``is_monotone``: a module's setting or weights, a
  call's argument, an ONNX attribute or initializer, a Keras layer's setting or weights).
- ``sign``: the setting whose sign decides that (LeakyReLU's ``negative_slope``, ELU's
  ``alpha``: the scale of the negative side), with torch's default; the same name in
  ``torch.nn`` modules, ``torch.nn.functional`` calls and Keras layers (ONNX calls both
  ``alpha``, with the same defaults).
- ``slope``: ``learned`` (PReLU's parameter) or ``random`` (RReLU) where the negative side's
  slope is not fixed: such an activation is monotone only while the slope stays >= 0.
- ``zero``: maps 0 to 0, so zero padding commutes with it (act(pad(x)) = pad(act(x))): with
  ``monotone``, a max-pool after zero padding can still go first.
- ``homogeneous``: commutes with a dropout mask (0 or 1/(1-p), per element or per channel) bit
  for bit, max(0, c*x) = c*max(0, x). LeakyReLU is positively homogeneous too, but its slope
  multiplication rounds differently in the two orders, so it is not marked.

``layerorder.order`` (tokens and rules), ``layerorder.blocks`` (classes and init),
``layerorder.modelgraph`` (module and function tables) and ``layerorder.search`` (which
spellings are the same function) read it. ``in_specs``: a token of order specs, which blocks can
build; the others are activations lint recognises in users' models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Activation:
    token: str
    nn_class: str  # the class's name in torch.nn
    init: str = "relu"  # nonlinearity for nn.init.kaiming_normal_ (nn.init.calculate_gain)
    defaults: tuple[tuple[str, Any], ...] = ()  # constructor keywords in a block
    monotone: bool = False
    homogeneous: bool = False
    in_specs: bool = True
    functional: str | None = ""  # torch.nn.functional's name; "": the token; None: none
    # of the negative side: "learned" (a parameter), "random" (drawn), or "step" (a threshold's)
    slope: str = "fixed"
    zero: bool = False  # act(0) == 0
    sign: tuple[str, float] | None = None  # the setting monotone needs >= 0, and its default

    @property
    def function_name(self) -> str | None:
        return self.token if self.functional == "" else self.functional


A = Activation
LEAKY_SLOPE = 0.01  # torch's negative_slope, the block's setting and a graph reader's default
ACTIVATIONS: tuple[Activation, ...] = (
    A("relu", "ReLU", monotone=True, homogeneous=True, zero=True),
    A("leakyrelu", "LeakyReLU", "leaky_relu", (("negative_slope", LEAKY_SLOPE),), monotone=True,
      functional="leaky_relu", zero=True, sign=("negative_slope", LEAKY_SLOPE)),
    A("gelu", "GELU", zero=True),
    A("silu", "SiLU", zero=True),
    A("elu", "ELU", monotone=True, zero=True, sign=("alpha", 1.0)),
    A("selu", "SELU", "selu", monotone=True, zero=True),
    A("tanh", "Tanh", "tanh", monotone=True, zero=True),
    A("sigmoid", "Sigmoid", "sigmoid", monotone=True),
    A("mish", "Mish", zero=True),
    A("relu6", "ReLU6", monotone=True, zero=True),
    A("prelu", "PReLU", "leaky_relu", (("init", 0.25),), monotone=True, slope="learned", zero=True),
    A("softplus", "Softplus", monotone=True),
    A("hardswish", "Hardswish", zero=True),
    A("identity", "Identity", "linear", monotone=True, homogeneous=True, functional=None,
      zero=True),
    # recognised in users' models only
    # CELU's negative side, alpha * (exp(x / alpha) - 1), rises for either sign of alpha
    A("celu", "CELU", monotone=True, in_specs=False, zero=True),
    A("hardtanh", "Hardtanh", monotone=True, in_specs=False, zero=True),
    A("hardsigmoid", "Hardsigmoid", monotone=True, in_specs=False),
    A("logsigmoid", "LogSigmoid", monotone=True, in_specs=False),
    A("softsign", "Softsign", monotone=True, in_specs=False, zero=True),
    A("tanhshrink", "Tanhshrink", monotone=True, in_specs=False, zero=True),
    A("hardshrink", "Hardshrink", monotone=True, in_specs=False, zero=True),
    A("softshrink", "Softshrink", monotone=True, in_specs=False, zero=True),
    A("rrelu", "RReLU", monotone=True, in_specs=False, slope="random", zero=True),
    # x above its threshold, value at or below it: a step from value up to the threshold, so
    # non-decreasing while value <= threshold and 0 -> 0 while threshold < 0 or value == 0
    A("threshold", "Threshold", monotone=True, in_specs=False, slope="step"),
)
BY_TOKEN: dict[str, Activation] = {a.token: a for a in ACTIVATIONS}

SPEC_TOKENS = tuple(a.token for a in ACTIVATIONS if a.in_specs)
MONOTONE_ACTS = frozenset(a.token for a in ACTIVATIONS if a.monotone)
ZERO_AT_ZERO_ACTS = frozenset(a.token for a in ACTIVATIONS if a.zero)
POSITIVELY_HOMOGENEOUS_ACTS = frozenset(a.token for a in ACTIVATIONS if a.homogeneous)
# monotone only while the slope stays >= 0, which the model does not fix
VARYING_SLOPE = frozenset(a.token for a in ACTIVATIONS if a.slope != "fixed")
# parameter-free activations a block builds (a stacked model shares one module for its replicas)
PARAMETER_FREE = tuple(a.nn_class for a in ACTIVATIONS if a.in_specs and a.slope != "learned")
# torch.nn.functional's name -> token
FUNCTIONS: dict[str, str] = {a.function_name: a.token for a in ACTIVATIONS if a.function_name}


def sign_setting(token: str) -> tuple[str, float] | None:
    """The setting whose sign decides whether ``token`` is monotone, and its default (None for
    an unknown token or one without such a setting)."""
    act = BY_TOKEN.get(token)
    return act.sign if act is not None else None


def is_monotone(token: str, slope: float | None = None) -> bool:
    """Whether an activation read from a model (a module, a function call, an ONNX node, a Keras
    layer) is known to be non-decreasing. ``slope``: the least slope, or scale, of its negative
    side where one was read (its ``sign`` setting, PReLU's learned weights, RReLU's bounds), or
    a threshold's step (threshold - value); None: none read, so a kind that has one (the kinds
    with a ``sign`` setting and those in ``VARYING_SLOPE``) is not known to be monotone."""
    if token not in MONOTONE_ACTS:
        return False
    if slope is not None:
        return slope >= 0
    return sign_setting(token) is None and token not in VARYING_SLOPE


def maps_zero_to_zero(token: str, keeps_zero: bool | None = None) -> bool:
    """Whether an activation read from a model maps 0 to 0. ``keeps_zero``: where the reader
    read the settings that decide it (a hard tanh's or a Clip's range, a threshold's, a Keras
    ReLU's threshold and slope), what they give; None: none read, so the kind's own fact, and a
    hard tanh, whose range is a setting, is not known to."""
    if keeps_zero is not None:
        return keeps_zero
    return token in ZERO_AT_ZERO_ACTS and token != "hardtanh"
