"""Residual units of He, Zhang, Ren, Sun 2016, "Identity Mappings in Deep Residual Networks".

Figure 4 of the paper.

Basic form (two 3x3 convolutions). With x the input, W1/W2 the convolutions and s the shortcut:

    original          relu(BN(W2 relu(BN(W1 x))) + s(x))
    bn-after-add      relu(BN(W2 relu(BN(W1 x)) + s(x)))
    relu-before-add   relu(BN(W2 relu(BN(W1 x)))) + s(x)
    relu-only-preact  BN(W2 relu(BN(W1 relu(x)))) + s(relu(x) if projected else x)
    full-preact       W2 relu(BN(W1 relu(BN(x)))) + s(relu(BN(x)) if projected else x)

CIFAR-10 test error, ResNet-110 (median of 5): 6.61, 8.17, 7.84, 6.71, 6.37 (Table 2).

``p_drop`` > 0 puts dropout right before each BN of the branch of the original unit,
relu(BN(W2 drop(relu(BN(W1' ... ): BN(drop(W1 x)) and BN(drop(W2 ...)), the placement whose
variance shift Li et al. 2019 measure (dropout before every BN).
When the shape changes the shortcut is a 1x1 projection (with BN in the post-activation variants;
in the pre-activation variants it reads the pre-activated input, as in the authors' code).
Every convolution is bias-free: each feeds a BN, directly or through the addition.
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.archs import RESIDUAL_VARIANTS
from layerorder.blocks.registry import (
    BlockError,
    Ndim,
    create_act,
    create_dropout,
    create_norm,
    create_weight,
)
from layerorder.errors import did_you_mean

PREACT_VARIANTS = frozenset({"relu-only-preact", "full-preact"})


class ResidualUnit(nn.Module):
    """One residual unit; ``variant`` picks where BN and the activation sit around the addition."""

    def __init__(
        self,
        variant: str,
        in_ch: int,
        out_ch: int,
        *,
        stride: int = 1,
        ndim: Ndim = 2,
        norm: str = "bn",
        act: str = "relu",
        p_drop: float = 0.0,
    ):
        super().__init__()
        if variant not in RESIDUAL_VARIANTS:
            raise BlockError(
                f"unknown residual unit '{variant}'" + did_you_mean(variant, RESIDUAL_VARIANTS)
            )
        if p_drop and variant != "original":
            raise BlockError(f"dropout before each BN of the branch is defined for the original "
                             f"unit, not '{variant}'")
        self.variant = variant

        def conv(i: int, o: int, k: int, s: int) -> nn.Module:
            return create_weight(
                ndim, i, o, kernel_size=k, stride=s, padding=k // 2, groups=1, bias=False
            )

        preact = variant in PREACT_VARIANTS
        self.conv1 = conv(in_ch, out_ch, 3, stride)
        self.conv2 = conv(out_ch, out_ch, 3, 1)
        # norm1 sits on the input in full-preact, after conv1 otherwise
        self.norm1 = create_norm(norm, ndim, in_ch if variant == "full-preact" else out_ch)
        self.norm2 = create_norm(norm, ndim, out_ch)
        self.act1 = create_act(act)
        self.act2 = create_act(act) if preact or variant == "relu-before-add" else None
        self.act_out = None if preact or variant == "relu-before-add" else create_act(act)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            proj = conv(in_ch, out_ch, 1, stride)
            self.shortcut = proj if preact else nn.Sequential(proj, create_norm(norm, ndim, out_ch))
        for m in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        # dropout before each BN of the branch (original unit only); identity when p_drop is 0
        self.drop1: nn.Module = create_dropout("drop", ndim, p_drop) if p_drop else nn.Identity()
        self.drop2: nn.Module = create_dropout("drop", ndim, p_drop) if p_drop else nn.Identity()

    @property
    def projected(self) -> bool:
        return not isinstance(self.shortcut, nn.Identity)

    def extra_repr(self) -> str:
        return f"variant={self.variant}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.variant
        if v in PREACT_VARIANTS:
            pre = self.act1(self.norm1(x)) if v == "full-preact" else self.act1(x)
            if v == "full-preact":
                out = self.conv2(self.act2(self.norm2(self.conv1(pre))))
            else:
                out = self.norm2(self.conv2(self.act2(self.norm1(self.conv1(pre)))))
            return out + self.shortcut(pre if self.projected else x)
        out = self.conv2(self.act1(self.norm1(self.drop1(self.conv1(x)))))
        if v == "bn-after-add":
            return self.act_out(self.norm2(out + self.shortcut(x)))
        out = self.act2(self.norm2(out)) if v == "relu-before-add" else self.norm2(self.drop2(out))
        out = out + self.shortcut(x)
        return out if self.act_out is None else self.act_out(out)


def residual_unit(variant: str, in_ch: int, out_ch: int, **kwargs) -> ResidualUnit:
    return ResidualUnit(variant, in_ch, out_ch, **kwargs)
