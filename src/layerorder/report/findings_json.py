"""Study results as compact JSON: one record per claim with its verdict and the evidence behind
it (the per-seed values each estimate rests on), so a page's verdicts can be checked, or tested
again, without the store. Like the Markdown and HTML pages, it only renders a ``Findings``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from layerorder import __version__

SCHEMA = 1  # bump when a field's meaning changes


@dataclass(frozen=True)
class EstimateRecord:
    label: str
    n: int
    mean: float | None
    low: float | None  # the estimate's own interval (90 % t unless the evidence says otherwise)
    high: float | None
    values: tuple[float | None, ...]  # one per seed (null: not finite)


@dataclass(frozen=True)
class ClaimRecord:
    study: str
    version: int
    scale: str
    experiment: str
    id: str
    kind: str  # "claim" (debated) or "check" (an identity the probes must reproduce)
    primary: bool
    counted: bool  # counted in the page's tally (a debated claim that shares no comparison)
    shares: str
    statement: str
    source: str
    literature: str  # the source's own number, with its setting
    source_regime: dict[str, Any]
    needs: tuple[str, ...]  # what a scale needs for the source's effect to show
    scale_regime: dict[str, Any]  # read from this scale's config and runs
    unmet: tuple[str, ...]  # the needs this scale does not meet (empty: it meets them)
    outcome: str
    effect: str
    evidence: str
    decided_by: str
    p: float | None  # one-sided p of the verdict's direction (undecided: the smaller one)
    p_family: float | None  # Holm-adjusted over the page's primary claims (primary only)
    decide: str  # what would decide it
    axis: str
    estimates: tuple[EstimateRecord, ...]


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def claim_records(findings) -> list[ClaimRecord]:
    out = []
    for r in findings.results:
        for c in r.claims:
            v, spec = c.verdict, c.claim
            m = v.regime
            out.append(ClaimRecord(
                study=r.study.name, version=r.study.version, scale=r.scale,
                experiment=c.experiment, id=spec.id, kind=spec.kind, primary=spec.primary,
                counted=spec.counted, shares=spec.shares, statement=spec.statement,
                source=spec.source, literature=spec.literature,
                source_regime={k: _plain(x) for k, x in spec.regime.source},
                needs=tuple(n.describe() for n in spec.regime.needs),
                scale_regime={k: _plain(x) for k, x in m.values} if m else {},
                unmet=m.unmet if m else (), outcome=v.outcome, effect=v.effect,
                evidence=v.evidence, decided_by=v.decided_by, p=_num(v.p),
                p_family=_num(c.p_family), decide=v.decide, axis=v.axis,
                estimates=tuple(EstimateRecord(e.label, e.n, _num(e.mean), _num(e.low),
                                               _num(e.high),
                                               tuple(_num(x) for x in e.values))
                                for e in v.estimates)))
    return out


def is_findings_json(head: bytes) -> bool:
    """Whether a file starting with ``head`` was written by ``render_findings_json`` (an
    existing file is overwritten only then)."""
    return head.startswith(b'{\n "schema": ') and b'"generator": "layerorder' in head


def render_findings_json(findings, command: str) -> str:
    """The page's claims, its primary-claim family and how it was made, as one JSON document
    (NaN never appears: a missing number is null)."""
    doc = {
        "schema": SCHEMA,
        "generator": f"layerorder {__version__}",
        "command": command,
        "alpha": findings.alpha,
        "family_method": findings.method,
        "family": [{"study": s, "claim": cid, "p": _num(p), "adjusted_p": _num(q)}
                   for s, cid, p, q in findings.family],
        "claims": [asdict(c) for c in claim_records(findings)],
    }
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"
