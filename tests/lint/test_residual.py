"""The structural Transformer-block reader against blocks whose placement is known by
construction: layerorder's own blocks (every placement, traced and run with hooks) and
hand-written blocks in plain PyTorch."""

import pytest
import torch
from torch import nn

from layerorder.lint import lint_model
from layerorder.lint.residual import residual_stacks
from layerorder.modelgraph.build import build_role_graph
from layerorder.models import build_model
from layerorder.placements import parse_placement, placement_specs


@pytest.mark.parametrize("mode", ["fx", "hooks"])
@pytest.mark.parametrize("spec", placement_specs())
def test_every_placement_is_read_from_the_data_flow(spec, mode):
    model = build_model("transformer", spec, in_shape=(1, 12), num_classes=3, width=8, heads=2)
    graph = build_role_graph(model, example=torch.randn(2, 1, 12), mode=mode)
    stacks = residual_stacks(graph)
    assert len(stacks) == 1
    (stack,) = stacks
    assert [b.path for b in stack.blocks] == ["features.0", "features.1"]
    assert {b.placement for b in stack.blocks} == {spec}
    assert all(b.source == "structure" for b in stack.blocks)
    # the model adds a final norm exactly where the placement needs one
    assert bool(stack.final_norm) == parse_placement(spec).final_norm


class Attention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.proj(torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v)


class Block(nn.Module):
    """A GPT-style block: ``where`` is 'pre', 'post' or 'none'."""

    def __init__(self, d, where):
        super().__init__()
        self.where = where
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        if self.where == "pre":
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))
        if self.where == "post":
            x = self.ln_1(x + self.attn(x))
            return self.ln_2(x + self.mlp(x))
        x = x + self.attn(x)
        return x + self.mlp(x)


class Decoder(nn.Module):
    def __init__(self, where, final, d=8, vocab=20):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.h = nn.ModuleList(Block(d, where) for _ in range(3))
        self.ln_f = nn.LayerNorm(d) if final else nn.Identity()
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        x = self.wte(ids)
        for block in self.h:
            x = block(x)
        return self.head(self.ln_f(x))


def _lint(model):
    return lint_model(model, example=torch.randint(0, 20, (1, 6)))


def test_a_hand_written_pre_ln_decoder_needs_its_final_norm():
    bare, ended = _lint(Decoder("pre", False)), _lint(Decoder("pre", True))
    assert [s.placement for s in bare.stacks] == ["pre-ln"]
    assert bare.pattern_count("transformer block: pre-ln") == 3
    assert [f.path for f in bare.findings if f.rule == "pre-norm-no-final-norm"] == ["h.2"]
    assert ended.stacks[0].final_norm == "ln_f"
    assert not [f for f in ended.findings if f.severity != "info"]


def test_post_ln_and_no_norm_blocks_need_no_final_norm():
    post = _lint(Decoder("post", False))
    assert [(s.placement, len(s.blocks)) for s in post.stacks] == [("post-ln", 3)]
    assert not post.findings
    bare = _lint(Decoder("none", False))
    assert [s.placement for s in bare.stacks] == ["no-norm"] and not bare.findings


def test_residual_blocks_without_attention_are_not_transformer_blocks():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))

        def forward(self, x):
            return x + self.f(x)

    report = lint_model(nn.Sequential(Res(), Res()), input_shape=(2, 8))
    assert report.stacks == ()


class EmbeddingNormDecoder(Decoder):
    """BLOOM's layout: a LayerNorm on the embeddings, then pre-LN blocks."""

    def __init__(self):
        super().__init__("pre", True)
        self.emb_ln = nn.LayerNorm(8)

    def forward(self, ids):
        x = self.emb_ln(self.wte(ids))
        for block in self.h:
            x = block(x)
        return self.head(self.ln_f(x))


def test_an_embedding_norm_before_a_pre_norm_block_is_a_note():
    report = _lint(EmbeddingNormDecoder())
    (note,) = [f for f in report.findings if f.rule == "norm-after-norm"]
    assert note.severity == "info" and note.path == "h.0.ln_1" and "embedding norm" in note.message

    class TwoNorms(nn.Module):  # two norms in a row inside a block stay a warning
        def __init__(self):
            super().__init__()
            self.a, self.b, self.fc = nn.LayerNorm(8), nn.LayerNorm(8), nn.Linear(8, 8)

        def forward(self, x):
            return x + self.fc(self.b(self.a(x)))

    (warning,) = [f for f in lint_model(TwoNorms(), input_shape=(2, 8)).findings
                  if f.rule == "norm-after-norm"]
    assert warning.severity == "warning"


class FlatStack(nn.Module):
    """vit-pytorch's layout: the adds are in the stack's forward (x = attn(x) + x), each block
    a ModuleList of two nn.Sequential sublayers, then a final norm and mean pooling."""

    def __init__(self, d=8, depth=2, final=True):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([nn.Sequential(nn.LayerNorm(d), Attention(d)),
                           nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(),
                                         nn.Linear(2 * d, d))])
            for _ in range(depth))
        self.norm = nn.LayerNorm(d) if final else nn.Identity()

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)


def test_blocks_named_by_their_branches_when_the_adds_are_in_the_stack():
    report = lint_model(FlatStack(), input_shape=(2, 5, 8))
    assert [(b.path, b.placement) for b in report.stacks[0].blocks] == [
        ("layers.0", "pre-ln"), ("layers.1", "pre-ln")]
    assert report.stacks[0].final_norm == "norm" and not report.findings
    bare = lint_model(FlatStack(final=False), input_shape=(2, 5, 8))
    assert [f.rule for f in bare.findings] == ["pre-norm-no-final-norm"]


def test_blocks_in_a_sequential_keep_their_index():
    model = nn.Sequential(nn.Sequential(Block(8, "pre"), Block(8, "pre")), nn.LayerNorm(8))
    report = lint_model(model, input_shape=(2, 5, 8))
    assert [b.path for b in report.stacks[0].blocks] == ["0.0", "0.1"]


class Parallel(nn.Module):
    """GPT-J's block: one norm, attention and MLP side by side, one residual sum."""

    def __init__(self, d=8):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.attn = Attention(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        h = self.ln(x)
        return x + (self.attn(h) + self.mlp(h))


class MoE(nn.Module):
    """A mixture of two experts weighted by a router's softmax: an MLP, not attention."""

    def __init__(self, d=8):
        super().__init__()
        self.router = nn.Linear(d, 2)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d)) for _ in range(2))

    def forward(self, x):
        weights = torch.softmax(self.router(x), dim=-1)
        return weights[..., :1] * self.experts[0](x) + weights[..., 1:] * self.experts[1](x)


class MoEBlock(Block):
    def __init__(self, d=8):
        super().__init__(d, "pre")
        self.mlp = MoE(d)


@pytest.mark.parametrize("block", [Parallel, MoEBlock], ids=["parallel", "moe"])
def test_parallel_and_mixture_of_experts_blocks(block):
    bare = lint_model(nn.Sequential(block(), block()), input_shape=(2, 5, 8))
    assert [(s.placement, len(s.blocks)) for s in bare.stacks] == [("pre-ln", 2)]
    assert [f.rule for f in bare.findings] == ["pre-norm-no-final-norm"]
    ended = lint_model(nn.Sequential(block(), block(), nn.LayerNorm(8)), input_shape=(2, 5, 8))
    assert ended.stacks[0].final_norm == "2" and not ended.findings


class MeanPooled(nn.Module):
    """BEiT's head: pre-LN blocks, mean pooling, then the final norm (fc_norm)."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(8, "pre"), Block(8, "pre"))
        self.fc_norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.fc_norm(self.blocks(x).mean(1)))


def test_a_final_norm_after_pooling_counts():
    report = lint_model(MeanPooled(), input_shape=(2, 5, 8))
    assert report.stacks[0].final_norm == "fc_norm" and not report.findings
