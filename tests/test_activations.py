"""The activation table, declared once and torch-free: what it says of each activation holds in
torch, and ``order``, ``blocks`` and ``lint`` read their vocabularies from it."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from layerorder.activations import (
    ACTIVATIONS,
    FUNCTIONS,
    MONOTONE_ACTS,
    POSITIVELY_HOMOGENEOUS_ACTS,
    SPEC_TOKENS,
    is_monotone,
    maps_zero_to_zero,
)
from layerorder.blocks.registry import get_activation
from layerorder.modelgraph.roles import FUNCTION_TABLE, module_entry
from layerorder.order import tokens

GRID = torch.linspace(-6, 6, 4001, dtype=torch.float64)


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: a.token)
def test_each_activation_is_what_the_table_says(act):
    cls = getattr(nn, act.nn_class)
    # Threshold has no defaults: Threshold(0.1, 0.0) steps up from 0 to 0.1 (a step down, value
    # above the threshold, is not monotone: tests/lint/test_lint_pool.py)
    module = cls(**dict(act.defaults)) if act.nn_class != "Threshold" else cls(0.1, 0.0)
    # lint names it by its token (an nn.Identity in a model is a no-op it looks through)
    assert module_entry(module) == (("transparent", "") if act.token == "identity"
                                    else ("act", act.token))
    if act.function_name is not None:
        assert callable(getattr(nn.functional, act.function_name))
        assert FUNCTION_TABLE[act.function_name] == ("act", act.token)
    with torch.no_grad():
        y = module.double()(GRID)
        steps = y[1:] - y[:-1]
        if act.token != "rrelu":  # random slopes in training; monotone for each draw
            assert bool((steps >= 0).all()) == act.monotone, act.token
        if act.homogeneous:  # a dropout mask's scale commutes with it bit for bit
            x = torch.randn(1000)
            for c in (1 / 0.9, 1 / 0.7, 2.0):
                assert torch.equal(module.float()(x * c), module.float()(x) * c)


def test_order_blocks_and_lint_read_the_table():
    assert set(tokens("act")) >= set(SPEC_TOKENS)
    for token in SPEC_TOKENS:
        spec = get_activation(token)
        act = next(a for a in ACTIVATIONS if a.token == token)
        assert spec.cls is getattr(nn, act.nn_class) and spec.init == act.init
    assert "leaky_relu" in FUNCTIONS and FUNCTIONS["leaky_relu"] == "leakyrelu"
    assert POSITIVELY_HOMOGENEOUS_ACTS <= MONOTONE_ACTS
    assert not {"gelu", "silu", "mish", "hardswish"} & MONOTONE_ACTS


def test_the_table_loads_no_torch():
    code = "import sys, layerorder.activations; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_slopes_and_parameters():
    from layerorder.activations import PARAMETER_FREE, VARYING_SLOPE

    assert VARYING_SLOPE == {"prelu", "rrelu", "threshold"}
    for act in ACTIVATIONS:
        module = getattr(nn, act.nn_class)(**dict(act.defaults)) if act.in_specs else None
        if module is not None:  # a stacked model shares the parameter-free ones
            assert (act.nn_class in PARAMETER_FREE) == (not list(module.parameters())), act.token


@pytest.mark.parametrize(
    "token,slope,monotone",
    [
        ("relu", None, True),  # no slope of its own
        ("gelu", None, False),  # dips below zero
        ("leakyrelu", 0.01, True),
        ("leakyrelu", -0.2, False),
        ("leakyrelu", None, False),  # a slope not read: not known to be monotone
        ("prelu", None, False),  # learned: monotone only as far as its weights were read
        ("prelu", 0.0, True),
        ("rrelu", None, False),
        ("threshold", None, False),  # its step not read
        ("threshold", 0.5, True),  # threshold - value: a step up
        ("threshold", -0.5, False),  # value above the threshold: a step down
        ("elu", 1.0, True),
        ("elu", -0.5, False),  # alpha < 0: exp's side falls
        ("elu", None, False),  # its alpha not read
        ("celu", None, True),  # alpha * (exp(x / alpha) - 1) rises whatever alpha's sign
        ("selu", None, True),  # its scale and alpha are fixed constants
    ],
)
def test_what_a_graph_reader_knows_of_an_activation(token, slope, monotone):
    """The one rule every graph reader (functions, ONNX, Keras, torch modules) applies."""
    assert is_monotone(token, slope) is monotone


def test_a_hard_tanh_maps_zero_to_zero_only_where_its_range_was_read():
    assert not maps_zero_to_zero("hardtanh") and maps_zero_to_zero("hardtanh", True)
    assert maps_zero_to_zero("relu") and not maps_zero_to_zero("sigmoid")


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a.sign], ids=lambda a: a.token)
def test_the_sign_setting_is_torchs_own_name_and_default_and_decides_monotone(act):
    """The setting's name and default are those of the torch module and function, and its sign
    is what makes the function non-decreasing: on a grid, it is with the setting >= 0, not below."""
    import inspect

    import torch.nn.functional as F

    name, default = act.sign
    assert getattr(getattr(nn, act.nn_class)(), name) == default
    assert inspect.signature(getattr(F, act.function_name)).parameters[name].default == default
    x = torch.linspace(-6, 6, 2001)
    for value, monotone in ((default, True), (0.5, True), (-0.5, False)):
        y = getattr(nn, act.nn_class)(**{name: value})(x)
        assert bool((y.diff() >= 0).all()) is monotone is is_monotone(act.token, value)
