"""The orders of the Transformer and the RNN as names, torch-free: a norm placement around every
residual sublayer (``post-ln``, ``pre-rmsnorm``, ...) and a recurrent cell with its norms
(``lstm-ln``, ...). ``layerorder.blocks.sublayer`` and ``layerorder.blocks.recurrent`` build
them and say what each one computes.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerorder.errors import BlockError, did_you_mean

PLACEMENTS = ("post", "pre", "sandwich")
PLACEMENT_NORMS = ("ln", "rmsnorm", "bn")  # the norms a placement spec builds
# a role graph's norm kind -> its name in a placement read from a model (pre-ln, pre-rmsnorm,
# pre-gn): the names above, and the norms lint finds that blocks do not build
PLACEMENT_NORM_OF_KIND = {"ln": "ln", "rms": "rmsnorm", "bn": "bn", "gn": "gn", "in": "in"}
PLACEMENT_ALIASES = {"postln": "post-ln", "preln": "pre-ln", "post-layernorm": "post-ln",
                     "pre-layernorm": "pre-ln", "pre-rms": "pre-rmsnorm",
                     "post-rms": "post-rmsnorm", "sandwich-rms": "sandwich-rmsnorm",
                     "none": "no-norm"}


@dataclass(frozen=True)
class Placement:
    placement: str  # post, pre, sandwich or none
    norm: str  # ln, rmsnorm, bn or none

    @property
    def spec(self) -> str:
        return "no-norm" if self.placement == "none" else f"{self.placement}-{self.norm}"

    @property
    def final_norm(self) -> bool:
        """Pre-norm stacks (and sandwich) leave the residual stream unnormalised: one more norm
        before the head."""
        return self.placement in ("pre", "sandwich")


def placement_specs() -> list[str]:
    return [f"{p}-{n}" for p in PLACEMENTS for n in PLACEMENT_NORMS] + ["no-norm"]


def parse_placement(spec: str) -> Placement:
    text = PLACEMENT_ALIASES.get(str(spec).strip().lower(), str(spec).strip().lower())
    if text == "no-norm":
        return Placement("none", "none")
    where, _, norm = text.partition("-")
    if where not in PLACEMENTS or norm not in PLACEMENT_NORMS:
        raise BlockError(
            f"transformer takes a norm placement as its order (PLACEMENT-NORM with PLACEMENT in"
            f" {', '.join(PLACEMENTS)} and NORM in {', '.join(PLACEMENT_NORMS)}, or no-norm), not"
            f" '{spec}'" + did_you_mean(text, placement_specs())
        )
    return Placement(where, norm)


CELLS = {"lstm": 4, "gru": 3}  # cell -> gates
RECURRENT_NORMS = ("none", "ln-ih", "ln-hh", "ln", "bn-ih")


@dataclass(frozen=True)
class RecurrentSpec:
    cell: str
    norms: str

    @property
    def spec(self) -> str:
        return f"{self.cell}-{self.norms}"

    @property
    def norm_ih(self) -> str | None:
        return {"ln-ih": "ln", "ln": "ln", "bn-ih": "bn"}.get(self.norms)

    @property
    def norm_hh(self) -> bool:
        return self.norms in ("ln-hh", "ln")


def recurrent_specs() -> list[str]:
    return [f"{c}-{n}" for c in CELLS for n in RECURRENT_NORMS]


def parse_recurrent(spec: str) -> RecurrentSpec:
    text = str(spec).strip().lower()
    cell, _, norms = text.partition("-")
    if cell not in CELLS or norms not in RECURRENT_NORMS:
        raise BlockError(
            f"rnn takes CELL-NORMS as its order (CELL lstm or gru; NORMS"
            f" {', '.join(RECURRENT_NORMS)}),"
            f" not '{spec}'" + did_you_mean(text, recurrent_specs())
        )
    return RecurrentSpec(cell, norms)
