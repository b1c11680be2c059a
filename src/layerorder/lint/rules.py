"""Lint rules as data: an id, a severity, what is wrong, why (with a reference) and the fix.

The checks that find each rule's places live in ``layerorder.lint.checks``, keyed by rule id.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    why: str
    reference: str
    fix: str


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    path: str  # module path of the place (with '#k' for the k-th call of a shared module)
    message: str
    related: tuple[str, ...] = ()  # other module paths involved
    wasted_params: int = 0


RULES: tuple[Rule, ...] = (
    Rule(
        id="dropout-before-norm",
        severity="warning",
        title="Dropout feeds a BatchNorm with no weight layer between",
        why=(
            "Dropout scales the variance of what it keeps by 1/(1-p) during training only, so"
            " the BatchNorm's running variance does not match what it sees at test time"
            " (variance shift)."
        ),
        reference="Li, Chen, Hu, Yang 2019, Understanding the Disharmony between Dropout and"
        " Batch Normalization by Variance Shift",
        fix="Move the dropout after the BatchNorm (e.g. conv-bn-relu-drop) or only before the"
        " classifier: layerorder rewrite TARGET --move-dropout-after-norm",
    ),
    Rule(
        id="redundant-bias",
        severity="warning",
        title="Bias right before BatchNorm or InstanceNorm",
        why=(
            "The norm subtracts the per-channel mean, which removes any per-channel constant:"
            " the bias gets no gradient signal and does nothing (z = g(BN(Wu)))."
        ),
        reference="Ioffe & Szegedy 2015, Batch Normalization, section 3.2",
        fix="Build the layer with bias=False (not for GroupNorm or LayerNorm, and not when an"
        " activation sits between the layer and the norm).",
    ),
    Rule(
        id="act-before-norm",
        severity="info",
        title="Activation right before BatchNorm",
        why=(
            "BN after the activation sees skewed, sparse inputs and cannot be folded into the"
            " weight layer before it; whether that order trains better is an open question"
            " (CaffeNet: yes, GoogLeNet: no)."
        ),
        reference="Ioffe & Szegedy 2015; Mishkin, Sergievskiy, Matas 2017 (caffenet-benchmark)",
        fix="Measure it: layerorder compare --order standard,act-first; to try the other order"
        " on this model: layerorder rewrite TARGET --swap act,norm",
    ),
    Rule(
        id="norm-after-norm",
        severity="warning",
        title="Two normalisations in a row",
        why="The second norm re-normalises an already normalised tensor: extra cost, no effect"
        " beyond its affine parameters.",
        reference="Ioffe & Szegedy 2015",
        fix="Remove one of the two norms.",
    ),
    Rule(
        id="act-after-act",
        severity="warning",
        title="Two activations in a row",
        why="A second activation right after the first is usually a leftover (e.g. ReLU after"
        " ReLU is a no-op, a ReLU after GELU cuts its negative part).",
        reference="He, Zhang, Ren, Sun 2016, Identity Mappings in Deep Residual Networks",
        fix="Remove one of the two activations.",
    ),
    Rule(
        id="no-nonlinearity",
        severity="info",
        title="Two weight layers with nothing nonlinear between",
        why="Without a nonlinearity the two layers compose to one linear map. Not reported: a"
        " path through a residual addition or a concatenation (a join, not a missing"
        " activation), a linear bottleneck (the first layer does not widen, the second"
        " widens: MobileNet's projection layers) and a grouped or depthwise convolution next to"
        " a dense one (separable convolutions, ConvNeXt's downsampling): factorisations.",
        reference="Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks",
        fix="Add an activation between the layers if the bottleneck is not intended.",
    ),
    Rule(
        id="act-before-maxpool",
        severity="info",
        title="Non-decreasing activation right before max-pooling",
        why="Max-pooling commutes with every non-decreasing element-wise function (ReLU,"
        " LeakyReLU with a slope >= 0, ReLU6, ELU, tanh, sigmoid, hardtanh): pooling first gives"
        " the same output, bit for bit, with the activation applied to k-squared times fewer"
        " elements. Not so for GELU, SiLU or Mish, which are not monotone.",
        reference="VGG (Simonyan & Zisserman 2015) pools after the ReLU; the identity"
        " max(f(a), f(b)) = f(max(a, b)) holds for any non-decreasing f",
        fix="Pool first: layerorder rewrite TARGET --pool-first (the output is checked to be"
        " equal).",
    ),
    Rule(
        id="bn-not-foldable",
        severity="info",
        title="BatchNorm that cannot be folded into a weight layer",
        why="At inference a BatchNorm is a per-channel affine map; it costs a separate pass"
        " unless it can be folded into the conv/linear right before it (or right after it,"
        " exactly only when that layer does not pad with zeros).",
        reference="Ioffe & Szegedy 2015; torch.fx's conv-bn fuser",
        fix="Put the BatchNorm right after a weight layer whose output only it reads.",
    ),
    Rule(
        id="pre-norm-no-final-norm",
        severity="warning",
        title="A pre-norm Transformer stack with no norm after its last block",
        why="Pre-norm blocks (x + f(norm(x))) never normalise the residual stream itself, which"
        " grows with depth; pre-norm Transformers end with one more norm before the head.",
        reference="Xiong et al. 2020, On Layer Normalization in the Transformer Architecture;"
        " nn.TransformerEncoder(norm=...)",
        fix="Add a final LayerNorm after the last block (nn.TransformerEncoder(layer, n,"
        " norm=nn.LayerNorm(d))).",
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def finding(rule_id: str, path: str, message: str, **extra) -> Finding:
    rule = RULES_BY_ID[rule_id]
    return Finding(rule=rule.id, severity=rule.severity, path=path, message=message, **extra)
