"""Lint on Hugging Face Transformers models built from configs (random weights, nothing
downloaded): each model's true placement and final norm, with no false warnings, from Python
and from the CLI with no wrapper."""

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers", reason="transformers is not installed (layerorder[test])")

from layerorder.lint import lint_any, lint_model  # noqa: E402
from layerorder.modelgraph.roles import module_entry  # noqa: E402
from tests.helpers import run_cli  # noqa: E402
from tests.lint import hf_models  # noqa: E402

MODELS = Path(hf_models.__file__)

# model -> (placement of every block, blocks, final norm) as the architectures are published:
# BERT post-LN (Devlin et al. 2019); GPT-2 pre-LN with ln_f (Radford et al. 2019, section 2.3);
# LLaMA pre-RMSNorm with a final norm (Touvron et al. 2023, section 2.2); T5 pre-norm with an
# RMS-style layer norm and a final norm (Raffel et al. 2020, section 2.1); ViT pre-LN with a
# final LayerNorm (Dosovitskiy et al. 2021, eq. 2-4)
TRUTH = {
    "bert": [("post-ln", 2, "")],
    "gpt2": [("pre-ln", 2, "ln_f")],
    "llama": [("pre-rmsnorm", 2, "norm")],
    "t5_encoder": [("pre-rmsnorm", 2, "encoder.final_layer_norm")],
    "vit": [("pre-ln", 2, "layernorm")],
    "t5": [("pre-rmsnorm", 2, "encoder.final_layer_norm"),
           ("pre-rmsnorm", 2, "decoder.final_layer_norm")],
    # Gemma 2: a norm before and after each sublayer, and a final norm (Gemma Team 2024,
    # section 2); GPT-J: attention and MLP in parallel off one LayerNorm, then ln_f
    "gemma2": [("sandwich-rmsnorm", 2, "norm")],
    "gptj": [("pre-ln", 2, "ln_f")],
    # Swin: each stage ends in patch merging, whose LayerNorm normalises the stream (Liu et al.
    # 2021, section 3.1); BEiT with mean pooling normalises after the pooling (fc_norm)
    "swin": [("pre-ln", 1, "encoder.layers.0.downsample.norm"), ("pre-ln", 1, "layernorm")],
    "beit": [("pre-ln", 2, "pooler.layernorm")],
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_model_has_its_true_placement_and_final_norm(name):
    report = lint_model(getattr(hf_models, name)())  # the input comes from the config
    got = [(s.placement, len(s.blocks), s.final_norm) for s in report.stacks]
    assert got == TRUTH[name]
    assert report.pattern_count(f"transformer block: {TRUTH[name][0][0]}") == sum(
        n for _, n, _ in TRUTH[name])
    assert [f for f in report.findings if f.severity != "info"] == []
    assert "from the model's config" in report.mode_note


def test_a_pre_ln_model_without_its_final_norm_is_found():
    report = lint_model(hf_models.gpt2_without_final_norm())
    (found,) = [f for f in report.findings if f.rule == "pre-norm-no-final-norm"]
    assert found.path == "h.1" and found.severity == "warning"


def test_bloom_embedding_norm_is_a_note():
    report = lint_model(hf_models.bloom())
    assert [(s.placement, s.final_norm) for s in report.stacks] == [("pre-ln", "ln_f")]
    (note,) = report.findings
    assert (note.rule, note.severity, note.path) == (
        "norm-after-norm", "info", "h.0.input_layernorm")


def test_hf_layer_classes_have_their_roles():
    gpt2, llama, t5, bert = (hf_models.gpt2(), hf_models.llama(), hf_models.t5_encoder(),
                             hf_models.bert())
    assert module_entry(gpt2.h[0].mlp.c_fc) == ("weight", "linear")  # Conv1D
    assert module_entry(gpt2.h[0].mlp.act) == ("act", "gelu")  # NewGELUActivation
    assert module_entry(bert.encoder.layer[0].intermediate.intermediate_act_fn) == ("act", "gelu")
    assert module_entry(llama.norm) == ("norm", "rms")  # LlamaRMSNorm, by what it computes
    assert module_entry(llama.layers[0].mlp.act_fn) == ("act", "silu")
    assert module_entry(t5.encoder.final_layer_norm) == ("norm", "rms")  # T5LayerNorm
    report = lint_model(gpt2)
    assert dict(report.roles)["weight"] == 8  # c_attn, c_proj, c_fc, c_proj per block


def test_a_users_class_named_like_gpt2s_conv1d_is_not_taken_for_it():
    """``Conv1D`` is GPT-2's transposed linear only where transformers defines it; a user's own
    class of that name (which may well convolve) is not read by its name."""
    import torch

    class Conv1D(torch.nn.Module):
        def forward(self, x):
            return x

    assert module_entry(Conv1D()) is None


def test_cli_lints_a_token_model_with_no_wrapper(capsys):
    code, out, err = run_cli(capsys, "lint", f"{MODELS}:gpt2", "--vocab", "100", "-i", "1,16",
                             "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [(s["final_norm"], len(s["blocks"])) for s in data["stacks"]] == [("ln_f", 2)]
    assert data["stacks"][0]["blocks"][0]["placement"] == "pre-ln"
    code, out, err = run_cli(capsys, "lint", f"{MODELS}:llama")  # input from the config
    assert code == 0, err
    assert "2 pre-rmsnorm blocks, final norm norm" in out and "no findings" in out
    assert "token ids of shape 1x16" in out


def test_python_lints_a_target_string_with_its_config_input():
    report = lint_any(f"{MODELS}:vit")
    assert [(s.placement, s.final_norm) for s in report.stacks] == [("pre-ln", "layernorm")]
    assert "1x3x32x32" in report.mode_note and "torch.fx is not tried" in report.mode_note
