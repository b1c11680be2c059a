"""Recurrent layers (LSTM, GRU) with a norm where the spec puts it, as data.

A recurrent spec is ``CELL-NORMS``: CELL is ``lstm`` or ``gru``; NORMS is ``none``, ``ln-ih``
(LayerNorm on the input-to-hidden transformation W_ih x_t), ``ln-hh`` (on the hidden-to-hidden
transformation W_hh h_{t-1}), ``ln`` (both: Ba et al. 2016) or ``bn-ih`` (BatchNorm on the
input-to-hidden transformation, statistics over batch and time: Laurent et al. 2016, who found it
speeds up training while BN on the hidden-to-hidden one does not help). Biases follow PyTorch's
(``bias_ih`` + ``bias_hh``); a normalised transformation drops its bias (the norm's shift takes
its place). ``lstm-none`` and ``gru-none`` compute exactly what ``nn.LSTM`` / ``nn.GRU`` compute
with the same weights (``from_torch``).
"""

from __future__ import annotations

import torch
from torch import nn

from layerorder.blocks.sublayer import TokenBatchNorm
from layerorder.placements import CELLS, RecurrentSpec


class RecurrentLayer(nn.Module):
    """One LSTM or GRU layer over (N, L, C) inputs, returning (N, L, H) outputs."""

    def __init__(self, spec: RecurrentSpec, in_features: int, hidden: int):
        super().__init__()
        self.spec, self.hidden = spec, hidden
        gates = CELLS[spec.cell] * hidden
        self.ih = nn.Linear(in_features, gates, bias=spec.norm_ih is None)
        self.hh = nn.Linear(hidden, gates, bias=not spec.norm_hh)
        kind = spec.norm_ih
        self.norm_ih = (nn.LayerNorm(gates) if kind == "ln" else TokenBatchNorm(gates)
                        if kind == "bn" else None)
        self.norm_hh = nn.LayerNorm(gates) if spec.norm_hh else None
        bound = hidden**-0.5  # PyTorch's RNN initialisation: U(-1/sqrt(H), 1/sqrt(H))
        for p in (*self.ih.parameters(), *self.hh.parameters()):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, _ = x.shape
        xs = self.ih(x)  # every step's input transformation at once
        if self.norm_ih is not None:
            xs = self.norm_ih(xs)
        h = x.new_zeros(n, self.hidden)
        c = x.new_zeros(n, self.hidden)
        out = []
        for t in range(length):
            hs = self.hh(h)
            if self.norm_hh is not None:
                hs = self.norm_hh(hs)
            if self.spec.cell == "lstm":
                i, f, g, o = (xs[:, t] + hs).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xr, xz, xn = xs[:, t].chunk(3, dim=1)
                hr, hz, hn = hs.chunk(3, dim=1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            out.append(h)
        return torch.stack(out, dim=1)


def from_torch(rnn: nn.LSTM | nn.GRU) -> RecurrentLayer:
    """The first layer of PyTorch's ``nn.LSTM`` / ``nn.GRU`` as a ``RecurrentLayer`` with its
    weights (``CELL-none``)."""
    cell = "lstm" if isinstance(rnn, nn.LSTM) else "gru"
    ours = RecurrentLayer(RecurrentSpec(cell, "none"), rnn.input_size, rnn.hidden_size)
    with torch.no_grad():
        ours.ih.weight.copy_(rnn.weight_ih_l0)
        ours.ih.bias.copy_(rnn.bias_ih_l0)
        ours.hh.weight.copy_(rnn.weight_hh_l0)
        ours.hh.bias.copy_(rnn.bias_hh_l0)
    return ours
