"""The built-in architectures' facts (``layerorder.archs``) match their builders."""

import inspect

import pytest

from layerorder.archs import (
    ARCH_NOTES,
    ARCH_OPTIONS,
    PLAIN_ARCHS,
    check_order_for_arch,
    takes_option,
    uses_dropout,
)
from layerorder.errors import ModelError
from layerorder.models import ARCHS
from layerorder.order import OrderSpecError
from tests.helpers import run_cli

OPTIONS = {"heads", "dropout_at", "final_norm"}  # the ones build_model passes where declared


def test_every_builder_takes_exactly_its_declared_options():
    assert set(ARCH_OPTIONS) == set(ARCHS) == set(ARCH_NOTES)
    for arch, build in ARCHS.items():
        params = set(inspect.signature(build).parameters)
        assert params & OPTIONS == set(ARCH_OPTIONS[arch]), arch
    assert all(takes_option(a, "final_norm") for a in PLAIN_ARCHS)
    assert takes_option("transformer", "heads") and not takes_option("resnet", "heads")


def test_resnet_has_dropout_only_where_placed():
    assert not uses_dropout("resnet", "none") and uses_dropout("resnet", "branch")
    assert all(uses_dropout(a, "none") for a in ARCHS if a != "resnet")


@pytest.mark.parametrize(("arch", "order", "owner"), [
    ("cnn1d", "post-ln", "transformer"), ("mlp", "lstm-ln", "rnn"),
    ("cnn2d", "full-preact", "resnet"), ("transformer", "original", "resnet"),
    ("resnet", "pre-ln", "transformer"), ("rnn", "sandwich-ln", "transformer"),
])
def test_an_order_of_another_architecture_names_that_architecture(arch, order, owner):
    with pytest.raises(ModelError, match=rf"order '{order}' belongs to --arch {owner}, not {arch};"
                                         rf" use --arch {owner}, or give {arch} "):
        check_order_for_arch(arch, order)
    # and the same order on its own architecture is taken, as it was
    check_order_for_arch(owner, order)


@pytest.mark.parametrize(("arch", "order", "error", "fragment"), [
    ("cnn1d", "conv-bnn-relu", OrderSpecError, "did you mean 'bn'"),  # as before
    ("cnn1d", "maxpool1s1", OrderSpecError, "has kernel 1 and stride 1"),
    ("resnet", "originl", ModelError, "did you mean 'original'"),
    ("transformer", "standard", ModelError, "transformer takes a norm placement"),
    # a block preset and a transformer placement both: the architecture's own message
    ("resnet", "no-norm", ModelError, "resnet takes a residual unit as its order, not 'no-norm'"),
    ("rnn", "no-norm", ModelError, "rnn takes CELL-NORMS as its order"),
])
def test_other_bad_orders_keep_their_own_message(arch, order, error, fragment):
    with pytest.raises(error, match=fragment) as caught:
        check_order_for_arch(arch, order)
    assert type(caught.value) is error


def test_the_cli_names_the_architecture_an_order_belongs_to(tmp_path, capsys):
    code, _, err = run_cli(capsys, "compare", "--order", "post-ln", "--plan-only",
                           "--store", tmp_path / "s.db")
    assert code == 2
    assert err.strip() == ("error: order 'post-ln' belongs to --arch transformer, not cnn1d; use"
                           " --arch transformer, or give cnn1d a block order (a preset or tokens"
                           " like 'conv-bn-relu')")
