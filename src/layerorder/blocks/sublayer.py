"""Where the norm goes around a residual sublayer (attention or MLP), as data.

A placement spec is ``PLACEMENT-NORM`` or ``no-norm``:

- ``post-NORM``: ``x = norm(x + f(x))`` (Vaswani et al. 2017; ``nn.TransformerEncoderLayer``
  with ``norm_first=False``);
- ``pre-NORM``: ``x = x + f(norm(x))``, and the stack ends with one more norm (Xiong et al. 2020;
  ``norm_first=True`` plus ``nn.TransformerEncoder(norm=...)``);
- ``sandwich-NORM``: ``x = x + norm(f(norm(x)))`` (a norm before and after the branch, before
  the addition; CogView, x-transformers' ``sandwich_norm``), with the final norm of pre-norm;
- ``no-norm``: ``x = x + f(x)``.

NORM is ``ln`` (LayerNorm), ``rmsnorm`` (RMSNorm, Zhang & Sennrich 2019) or ``bn`` (BatchNorm
over the features of every token: statistics over batch and positions, the claim that BN suits
sequences badly). ``f`` is followed by dropout before the addition, as in PyTorch's layer.
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.errors import BlockError as ModelError
from layerorder.errors import did_you_mean
from layerorder.placements import PLACEMENT_NORMS as NORMS
from layerorder.placements import Placement


class TokenBatchNorm(nn.Module):
    """BatchNorm over the features of (N, L, D) tokens: statistics over batch and positions.
    The BN itself sees (N, D, L), so probes of BN (variance shift, recalibration) apply."""

    def __init__(self, dim: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


def create_token_norm(kind: str, dim: int) -> nn.Module:
    if kind == "ln":
        return nn.LayerNorm(dim)
    if kind == "rmsnorm":
        return nn.RMSNorm(dim)
    if kind == "bn":
        return TokenBatchNorm(dim)
    raise ModelError(f"unknown token norm '{kind}'" + did_you_mean(kind, NORMS))


class Residual(nn.Module):
    """One residual sublayer ``branch`` with its norm(s) where ``placement`` puts them. Probes
    record its output, the residual stream after this sublayer (``stream_stage``)."""

    stream_stage = True

    def __init__(self, branch: nn.Module, placement: Placement, dim: int, p_drop: float):
        super().__init__()
        self.placement = placement
        self.branch = branch
        self.drop = nn.Dropout(p_drop)
        where = placement.placement
        self.norm_in = create_token_norm(placement.norm, dim) if where in ("pre", "sandwich") \
            else None
        self.norm_out = create_token_norm(placement.norm, dim) if where in ("post", "sandwich") \
            else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        where = self.placement.placement
        h = self.norm_in(x) if self.norm_in is not None else x
        h = self.branch(h)
        if where == "sandwich":
            h = self.norm_out(h)
        out = x + self.drop(h)
        return self.norm_out(out) if where == "post" else out


class SelfAttention(nn.Module):
    """Multi-head self-attention over (N, L, D) tokens, returning only the output."""

    def __init__(self, dim: int, heads: int, p_drop: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=p_drop, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


class FeedForward(nn.Module):
    """linear -> activation -> dropout -> linear, as in ``nn.TransformerEncoderLayer``."""

    def __init__(self, dim: int, hidden: int, p_drop: float, act: str = "relu"):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.act = nn.ReLU() if act == "relu" else nn.GELU()
        self.drop = nn.Dropout(p_drop)
        self.linear2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.drop(self.act(self.linear1(x))))


class EncoderLayer(nn.Module):
    """An attention sublayer then an MLP sublayer, each a ``Residual`` with the placement."""

    def __init__(self, dim: int, heads: int, hidden: int, placement: Placement, p_drop: float,
                 act: str = "relu"):
        super().__init__()
        if dim % heads:
            raise ModelError(f"width {dim} is not divisible by {heads} heads")
        self.attention = Residual(SelfAttention(dim, heads, p_drop), placement, dim, p_drop)
        self.mlp = Residual(FeedForward(dim, hidden, p_drop, act), placement, dim, p_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attention(x))


def from_torch_layer(layer: nn.TransformerEncoderLayer) -> EncoderLayer:
    """An ``EncoderLayer`` with the weights of PyTorch's layer (post-ln, or pre-ln when
    ``norm_first``), for checking that the two compute the same function."""
    dim = layer.self_attn.embed_dim
    placement = Placement("pre" if layer.norm_first else "post", "ln")
    act = "gelu" if layer.activation_relu_or_gelu == 2 else "relu"
    ours = EncoderLayer(dim, layer.self_attn.num_heads, layer.linear1.out_features, placement,
                        layer.dropout.p, act)
    ours.attention.branch.attn.load_state_dict(layer.self_attn.state_dict())
    ff = ours.mlp.branch
    ff.linear1.load_state_dict(layer.linear1.state_dict())
    ff.linear2.load_state_dict(layer.linear2.state_dict())
    first, second = (("norm_in", "norm_in") if layer.norm_first else ("norm_out", "norm_out"))
    getattr(ours.attention, first).load_state_dict(layer.norm1.state_dict())
    getattr(ours.mlp, second).load_state_dict(layer.norm2.state_dict())
    return ours
