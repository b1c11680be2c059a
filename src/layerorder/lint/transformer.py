"""Transformer blocks in a user's model: where each block puts its norms, read from the modules.

The graph census counts chains of weight/norm/activation layers; a Transformer block's placement
(post-LN, pre-LN, sandwich) is a property of the block, so it is read from the block itself:

- ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``: ``norm_first`` (pre) or not
  (post);
- layerorder's own ``EncoderLayer``: its placement;
- timm's ViT ``Block`` (``norm1``, ``attn``, ``norm2``, ``mlp``): pre-norm; ``ResPostBlock``:
  post-norm; torchvision's ViT ``EncoderBlock`` (``ln_1``, ``self_attention``, ``ln_2``,
  ``mlp``): pre-norm.

A stack of pre-norm blocks leaves the residual stream unnormalised, so it needs one more norm
after its last block (``nn.TransformerEncoder(norm=...)``, ViT's final ``norm``): the rule
``pre-norm-no-final-norm`` finds a pre-norm stack with no norm module after its last block.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from layerorder.lint.rules import Finding
from layerorder.modelgraph.census import PatternCount

NORM_TYPES = (nn.LayerNorm, nn.RMSNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)
NORM_NAMES = {"LayerNorm": "ln", "RMSNorm": "rmsnorm", "BatchNorm1d": "bn", "GroupNorm": "gn"}


@dataclass(frozen=True)
class TransformerBlock:
    path: str
    placement: str  # post-ln, pre-ln, sandwich-rmsnorm, no-norm, ...
    source: str  # the block's class name


def _norm_name(module: nn.Module | None) -> str:
    return NORM_NAMES.get(type(module).__name__, "ln") if module is not None else "ln"


def _placement(module: nn.Module) -> str | None:
    from layerorder.blocks.sublayer import EncoderLayer

    name = type(module).__name__
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        return f"{'pre' if module.norm_first else 'post'}-{_norm_name(module.norm1)}"
    if isinstance(module, EncoderLayer):
        return module.attention.placement.spec
    if all(hasattr(module, a) for a in ("norm1", "attn", "norm2", "mlp")):  # timm
        return f"{'post' if name == 'ResPostBlock' else 'pre'}-{_norm_name(module.norm1)}"
    if all(hasattr(module, a) for a in ("ln_1", "self_attention", "ln_2", "mlp")):  # torchvision
        return f"pre-{_norm_name(module.ln_1)}"
    return None


def transformer_blocks(model: nn.Module) -> list[TransformerBlock]:
    """Every Transformer block of ``model`` (outermost only), in registration order."""
    found: list[TransformerBlock] = []
    for path, module in model.named_modules():
        if any(path.startswith(b.path + ".") for b in found):
            continue
        placement = _placement(module)
        if placement is not None:
            found.append(TransformerBlock(path, placement, type(module).__name__))
    return found


def transformer_census(blocks: list[TransformerBlock]) -> tuple[PatternCount, ...]:
    counts: dict[str, int] = {}
    for b in blocks:
        counts[b.placement] = counts.get(b.placement, 0) + 1
    return tuple(PatternCount(f"transformer block: {p}", n, 0) for p, n in counts.items())


def pre_norm_no_final_norm(model: nn.Module, blocks: list[TransformerBlock]) -> list[Finding]:
    """A pre-norm (or sandwich) stack whose last block is followed by no norm module."""
    stacked = [b for b in blocks if b.placement.startswith(("pre-", "sandwich-"))]
    if not stacked:
        return []
    last = stacked[-1].path
    names = [p for p, _ in model.named_modules()]
    after = names[names.index(last) + 1 :]
    modules = dict(model.named_modules())
    if any(isinstance(modules[p], NORM_TYPES) and not p.startswith(last + ".") for p in after):
        return []
    return [
        Finding(
            rule="pre-norm-no-final-norm",
            severity="warning",
            path=last,
            message=f"{len(stacked)} {stacked[-1].placement} blocks end at '{last}' with no norm"
            " after them: the residual stream reaches the head unnormalised",
            related=tuple(b.path for b in stacked[:-1])[:3],
        )
    ]
