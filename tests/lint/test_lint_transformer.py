"""Lint reads Transformer blocks' norm placements and finds pre-norm stacks with no final norm."""

from torch import nn

from layerorder.lint import lint_model
from layerorder.models import build_model
from tests.helpers import run_cli


def _encoder(norm_first: bool, final: bool) -> nn.Module:
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, norm_first=norm_first)
    return nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(16) if final else None,
                                 enable_nested_tensor=False)


def _rules(report):
    return [f.rule for f in report.findings if f.rule == "pre-norm-no-final-norm"]


def test_torch_encoders_census_and_final_norm_rule():
    pre_bare = lint_model(_encoder(True, False), input_shape=(2, 5, 16))
    assert pre_bare.pattern_count("transformer block: pre-ln") == 3
    assert _rules(pre_bare) == ["pre-norm-no-final-norm"]
    assert pre_bare.findings[-1].path == "layers.2"
    assert not _rules(lint_model(_encoder(True, True), input_shape=(2, 5, 16)))
    post = lint_model(_encoder(False, False), input_shape=(2, 5, 16))
    assert post.pattern_count("transformer block: post-ln") == 3 and not _rules(post)


def test_layerorder_transformers_are_read_by_placement():
    for spec, count in (("pre-rmsnorm", 2), ("sandwich-ln", 2), ("post-bn", 2)):
        model = build_model("transformer", spec, in_shape=(1, 12), num_classes=3, width=8,
                            heads=2)
        report = lint_model(model, input_shape=(2, 1, 12))
        assert report.pattern_count(f"transformer block: {spec}") == count
        assert not _rules(report)  # pre and sandwich stacks end with a final norm


class TimmLikeBlock(nn.Module):  # timm's ViT Block: x + attn(norm1(x)); x + mlp(norm2(x))
    def __init__(self, d=8):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn, self.mlp = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionLikeEncoder(nn.Module):
    def __init__(self, final: bool):
        super().__init__()
        self.blocks = nn.Sequential(TimmLikeBlock(), TimmLikeBlock())
        self.norm = nn.LayerNorm(8) if final else nn.Identity()
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.norm(self.blocks(x)).mean(1))


def test_timm_style_blocks_by_structure():
    bare = lint_model(VisionLikeEncoder(False), input_shape=(2, 4, 8))
    assert bare.pattern_count("transformer block: pre-ln") == 2
    assert _rules(bare) == ["pre-norm-no-final-norm"]
    assert not _rules(lint_model(VisionLikeEncoder(True), input_shape=(2, 4, 8)))


def test_lint_command_shows_the_blocks_and_the_finding(tmp_path, capsys):
    src = tmp_path / "enc.py"
    src.write_text(
        "from torch import nn\n"
        "def make():\n"
        "    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, norm_first=True)\n"
        "    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)\n"
    )
    code, out, err = run_cli(capsys, "lint", f"{src}:make", "--input-shape", "2,5,16")
    assert code == 0, err
    assert "transformer block: pre-ln" in out and "pre-norm-no-final-norm" in out


def test_torchvision_vit_b_16_is_pre_ln_with_a_final_norm():
    import pytest

    models = pytest.importorskip("torchvision.models", reason="torchvision is not installed")
    report = lint_model(models.vit_b_16(), input_shape=(1, 3, 224, 224))
    assert report.pattern_count("transformer block: pre-ln") == 12 and not _rules(report)


def test_timm_vit_blocks_are_pre_ln_with_a_final_norm():
    import pytest

    timm = pytest.importorskip("timm", reason="timm is not installed")
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False)
    report = lint_model(model, input_shape=(1, 3, 224, 224))
    assert report.pattern_count("transformer block: pre-ln") == 12 and not _rules(report)
