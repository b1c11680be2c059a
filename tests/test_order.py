import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerorder.order import (
    PRESETS,
    OrderSpecError,
    describe_order,
    format_order,
    parse_order,
    tokens,
)

BASE = ["conv", "bn", "relu", "drop"]


def valid_specs():
    for r in range(1, 5):
        for subset in itertools.combinations(BASE, r):
            if "conv" in subset:
                for perm in itertools.permutations(subset):
                    yield "-".join(perm)


def test_every_permutation_round_trips():
    specs = list(valid_specs())
    assert len([s for s in specs if len(s.split("-")) == 4]) == 24
    for spec in specs:
        assert format_order(parse_order(spec)) == spec


@pytest.mark.parametrize("name,spec", sorted(PRESETS.items()))
def test_presets(name, spec):
    order = parse_order(name)
    assert order.spec == spec
    assert order.label == name
    assert parse_order(spec).label == spec
    assert order == parse_order(spec)


def test_preset_values_match_issue():
    assert PRESETS == {
        "standard": "conv-bn-relu-drop",
        "act-first": "conv-relu-bn-drop",
        "preact": "bn-relu-conv-drop",
        "drop-before-bn": "conv-relu-drop-bn",
        "no-norm": "conv-relu-drop",
    }


@pytest.mark.parametrize(
    "alias,canonical",
    [
        ("conv-batchnorm-relu-dropout", "conv-bn-relu-drop"),
        ("CONV-BN-ReLU", "conv-bn-relu"),
        ("conv-bn-relu-drop2d", "conv-bn-relu-dropch"),
        ("dense-layernorm-swish", "linear-ln-silu"),
        ("conv-groupnorm-leaky_relu", "conv-gn-leakyrelu"),
    ],
)
def test_aliases_normalise(alias, canonical):
    assert format_order(parse_order(alias)) == canonical


def test_unknown_token_message():
    with pytest.raises(OrderSpecError) as info:
        parse_order("conv-bnn-relu")
    assert (
        str(info.value)
        == "unknown token 'bnn' at position 2 in 'conv-bnn-relu'; did you mean 'bn'?"
    )


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("bn-relu", "no weight stage"),
        ("conv-bn-linear", "2 weight stages"),
        ("conv-bn-relu-gn", "2 norm stages"),
        ("conv-relu-gelu", "2 act stages"),
        ("conv-drop-dropch", "2 dropout stages"),
        ("conv--relu", "empty token at position 2"),
        ("-conv", "empty token at position 1"),
        ("conv-", "empty token at position 2"),
        ("", "empty order spec"),
        ("   ", "empty order spec"),
        ("conv-xyz", "unknown token 'xyz' at position 2"),
        # one word that is neither: the presets are named, since it was most likely meant as one
        ("xyz", r"unknown order 'xyz': neither a preset \(act-first, drop-before-bn, no-norm,"
                r" preact, standard\) nor a token"),
        ("bnn", "unknown token 'bnn' at position 1 in 'bnn'; did you mean 'bn'"),
        ("maxpool20s2", "pool token 'maxpool20s2' at position 1 .* has kernel 20 and stride 2"),
    ],
)
def test_rejections(spec, fragment):
    with pytest.raises(OrderSpecError, match=fragment):
        parse_order(spec)


@pytest.mark.parametrize("bad", [None, 3, 1.5, ["conv", "bn"], b"conv-bn", {"conv": 1}])
def test_non_strings(bad):
    with pytest.raises(OrderSpecError, match="must be a string"):
        parse_order(bad)


def test_order_spec_error_is_value_error():
    assert issubclass(OrderSpecError, ValueError)


def test_bias_rule():
    assert parse_order("conv-relu-bn").weight_bias()
    assert not parse_order("conv-bn-relu").weight_bias()
    assert parse_order("conv-gn-relu").weight_bias()
    assert not parse_order("conv-in-relu").weight_bias()
    assert parse_order("conv-ln-relu").weight_bias()
    assert parse_order("bn-relu-conv").weight_bias()
    assert parse_order("conv-drop-bn").weight_bias()


def test_describe_mentions_bias_and_variance_shift():
    text = "\n".join(describe_order(parse_order("drop-before-bn")))
    assert "weight bias: on" in text and "variance" in text
    text = "\n".join(describe_order(parse_order("standard")))
    assert "weight bias: off" in text and "output channels" in text
    text = "\n".join(describe_order(parse_order("preact")))
    assert "input channels" in text and "final norm" in text


def test_describe_says_a_learned_slope_keeps_max_pool_commuting_only_while_non_negative():
    text = " ".join(describe_order(parse_order("conv-bn-prelu-maxpool")))
    assert "max-pool commutes with 'prelu' (non-decreasing, while its learned slopes stay" in text
    text = " ".join(describe_order(parse_order("conv-bn-relu-maxpool")))
    assert "max-pool commutes with 'relu' (non-decreasing)" in text
    text = " ".join(describe_order(parse_order("conv-bn-leakyrelu-maxpool")))
    assert "max-pool commutes with 'leakyrelu' (non-decreasing)" in text  # a fixed slope


def test_first_block_of_preact_drops_pre_stages():
    assert parse_order("bn-relu-conv-drop").for_first_block().spec == "conv-drop"
    assert parse_order("drop-relu-conv-bn").for_first_block().spec == "drop-conv-bn"
    std = parse_order("standard")
    assert std.for_first_block() is std


PIECES = tokens() + ["", "bnn", "x", "Conv", "BN", "dropout", "standard", "-", " "]


@given(st.lists(st.sampled_from(PIECES), min_size=0, max_size=6).map("-".join))
def test_property_token_soup(spec):
    try:
        order = parse_order(spec)
    except OrderSpecError:
        return
    canonical = format_order(order)
    assert format_order(parse_order(canonical)) == canonical


@given(st.text(max_size=30))
def test_property_any_text_raises_only_order_spec_error(spec):
    try:
        order = parse_order(spec)
    except OrderSpecError:
        return
    assert format_order(parse_order(format_order(order))) == format_order(order)


@given(st.permutations(BASE))
def test_property_permutations_round_trip(perm):
    spec = "-".join(perm)
    assert format_order(parse_order(spec)) == spec


def test_misspelt_presets_suggest_presets_and_bad_tokens_suggest_tokens():
    from layerorder.order import OrderSpecError, parse_order

    with pytest.raises(OrderSpecError, match="preset 'standard'"):
        parse_order("standrd")
    with pytest.raises(OrderSpecError, match="preset 'preact'"):
        parse_order("pre-act")
    with pytest.raises(OrderSpecError, match="unknown token 'act' at position 2"):
        parse_order("bn-act-wieght")
