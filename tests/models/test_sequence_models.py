"""Sequence models: every transformer placement and rnn cell builds and runs; final norms."""

import pytest
import torch

from layerorder.models import ModelError, build_model, check_order_for_arch
from layerorder.placements import placement_specs


@pytest.mark.parametrize("spec", placement_specs())
def test_every_placement_builds_and_classifies(spec):
    torch.manual_seed(0)
    model = build_model("transformer", spec, in_shape=(1, 40), num_classes=10, width=16,
                        depth=2, heads=2)
    out = model(torch.randn(3, 1, 40))
    assert out.shape == (3, 10)
    has_final = not isinstance(model.final, torch.nn.Identity)
    assert has_final == spec.startswith(("pre-", "sandwich-"))
    assert spec in repr(model)


def test_images_are_read_row_by_row_as_tokens():
    model = build_model("transformer", "post-ln", in_shape=(1, 8, 8), num_classes=4, width=8,
                        heads=2)
    assert model.reshape.length == 64 and model.reshape.channels == 1
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 4)


def test_bad_transformer_settings_are_model_errors():
    with pytest.raises(ModelError, match="not divisible by 3 heads"):
        build_model("transformer", "pre-ln", in_shape=(1, 40), num_classes=10, width=16, heads=3)
    with pytest.raises(ModelError, match="norm placement"):
        check_order_for_arch("transformer", "conv-bn-relu")


@pytest.mark.parametrize("spec", ["lstm-none", "lstm-ln", "gru-bn-ih", "gru-ln-ih"])
def test_rnn_specs_build_and_classify(spec):
    torch.manual_seed(0)
    model = build_model("rnn", spec, in_shape=(2, 12), num_classes=3, width=8, depth=2)
    assert model(torch.randn(4, 2, 12)).shape == (4, 3) and spec in repr(model)
    with pytest.raises(ModelError, match="CELL-NORMS"):
        check_order_for_arch("rnn", "lstm-xx")
    with pytest.raises(ModelError, match="belongs to --arch transformer, not rnn"):
        check_order_for_arch("rnn", "post-ln")
