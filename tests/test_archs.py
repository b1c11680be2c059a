"""The built-in architectures' facts (``layerorder.archs``) match their builders."""

import inspect

from layerorder.archs import ARCH_NOTES, ARCH_OPTIONS, PLAIN_ARCHS, takes_option, uses_dropout
from layerorder.models import ARCHS

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
