"""Study results as compact JSON: one record per claim with its verdict and the evidence behind
it (the per-seed values each estimate rests on), so a page's verdicts can be checked, or tested
again, without the store. Like the Markdown and HTML pages, it only renders a ``Findings``.

It also keeps each study's results as evaluated before the page's primary claims were corrected
together (``studies``: every claim's own verdict, the experiments' cell means and stage chains),
so that ``findings_from_json`` can rebuild the ``Findings`` of one or several such files and a
page can be drawn again without the store, and without training anything."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from layerorder.stats.exact import SignTest
from layerorder.stats.metric import Metric
from layerorder.version import __version__

SCHEMA = 2  # bump when a field's meaning changes (2: the studies' results before correction)


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
    kind: str  # "claim" (debated) or "check" (an identity, sanity fact or guard; no evidence)
    primary: bool
    counted: bool  # counted in the page's tally (a debated claim that shares no comparison)
    shares: str
    guarded_by: str  # the check this claim's verdict stands on, if any
    reading: bool  # this study's own reading of its source: the verdict is on that reading
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
    # the claim's band as drawn: numbers, "inf"/"-inf" for an open side (JSON has no infinity)
    reference: tuple[float | str | None, float | str | None] | None = None


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _bound(x: float) -> float | str | None:
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return _num(x)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def claim_records(findings) -> list[ClaimRecord]:
    return [_record(r, c) for r in findings.results for c in r.claims]


def _record(r, c) -> ClaimRecord:
    """One claim of one study result."""
    v, spec, m = c.verdict, c.claim, c.verdict.regime
    return ClaimRecord(
        study=r.study.name, version=r.study.version, scale=r.scale,
        experiment=c.experiment, id=spec.id, kind=spec.kind, primary=spec.primary,
        counted=spec.counted, shares=spec.shares, guarded_by=spec.guarded_by,
        reading=spec.reading,
        statement=spec.statement,
        source=spec.source, literature=spec.literature,
        source_regime={k: _plain(x) for k, x in spec.regime.source},
        needs=tuple(n.describe() for n in spec.regime.needs),
        scale_regime={k: _plain(x) for k, x in m.values} if m else {},
        unmet=m.unmet if m else (), outcome=v.outcome, effect=v.effect,
        evidence=v.evidence, decided_by=v.decided_by, p=_num(v.p),
        p_family=_num(c.p_family), decide=v.decide, axis=v.axis,
        estimates=tuple(EstimateRecord(e.label, e.n, _num(e.mean), _num(e.low), _num(e.high),
                                       tuple(_num(x) for x in e.values))
                        for e in v.estimates),
        reference=None if v.reference is None else tuple(_bound(x) for x in v.reference))


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
        "studies": [_study(r) for r in findings.raw],
    }
    return json.dumps(doc, indent=1, allow_nan=False) + "\n"


def _clean(value: Any) -> Any:
    """A dataclass dict made JSON-safe: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _study(r) -> dict[str, Any]:
    return {"study": r.study.name, "path": str(r.study.path), "version": r.study.version,
            "scale": r.scale,
            "store": r.store, "machine": r.machine, "finished_at": r.finished_at,
            "experiments": [{**_clean(asdict(e)), "metric": {"name": e.metric.name,
                                                             "goal": e.metric.goal}}
                            for e in r.experiments],
            "claims": [_clean(asdict(_record(r, c))) for c in r.claims]}


def _nan(x: Any) -> float:
    """A JSON number back: null is NaN; "inf"/"-inf" (an open band) are infinities."""
    return math.nan if x is None else float(x)


def findings_from_json(texts: list[tuple[str, str]], alpha: float | None = None):
    """The ``Findings`` of one or more files written by ``render_findings_json`` (each given as
    (where, text)): every study's results as they were evaluated, the primary claims of all of
    them corrected together again. Studies are the built-in ones (or study files) named in the
    JSON, at the version it names; a claim the study no longer has is an error."""
    from layerorder.errors import ConfigError
    from layerorder.studies import load_study
    from layerorder.studies.family import control_primary

    results, seen, alphas = [], set(), set()
    for where, text in texts:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}); give a file "
                              "written by 'layerorder study report --format json'") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or "studies" not in doc:
            raise ConfigError(f"{where}: not a findings JSON of schema {SCHEMA}; write it again "
                              "with 'layerorder study report --format json'")
        alphas.add(doc.get("alpha"))
        for entry in doc["studies"]:
            key = (entry["study"], entry["scale"])
            if key in seen:
                raise ConfigError(f"{where}: study '{key[0]}' at scale '{key[1]}' is given twice")
            seen.add(key)
            results.append(_study_result(entry, where, load_study))
    if len(alphas) > 1:
        raise ConfigError(f"the files were tested at different alphas ({sorted(alphas)})")
    level = alpha if alpha is not None else (alphas.pop() if alphas else None)
    from layerorder.studies.run import ALPHA

    return control_primary(results, level if isinstance(level, float) else ALPHA)


# a sign test's headline as files written before it named the claim's side: above zero, below
_OLD_SIGN_HEADLINE = re.compile(r"(\d+) seeds? one way, (\d+) the other, (\d+) tied")


def _effect(stored: str, reference: tuple[float, float] | None, p: float) -> str:
    """A claim's headline as stored, but an older file's sign-test headline ('0 seeds one way, 5
    the other, 5 tied': above zero, then below) in today's words, which name the claim's side
    (``SignTest.headline``); that side is the verdict's reference, (0, inf) for 'greater'."""
    match = _OLD_SIGN_HEADLINE.fullmatch(stored)
    if match is None or reference is None:
        return stored
    above, below, ties = (int(x) for x in match.groups())
    side = "greater" if reference[0] == 0 else "less"
    return SignTest(above, below, ties, side, p).headline(side)


def _study_result(entry: dict[str, Any], where: str, load_study):
    from layerorder.errors import ConfigError
    from layerorder.probe.chain import ChainStep, StageChain
    from layerorder.studies import builtin_names
    from layerorder.studies.claims import Estimate, Verdict
    from layerorder.studies.regime import RegimeMatch
    from layerorder.studies.run import Cell, ClaimResult, ExperimentRun, StudyResult, guarded

    # a built-in study by its name (wherever the package lives now), a user's by its file
    study = load_study(entry["study"] if entry["study"] in builtin_names() else entry["path"])
    if study.version != entry["version"]:
        raise ConfigError(f"{where}: '{study.name}' was evaluated at version {entry['version']},"
                          f" the study file is version {study.version}; report it again from "
                          "its store")
    by_id = {c.id: c for c in study.claims}
    claims = []
    for rec in entry["claims"]:
        spec = by_id.get(rec["id"])
        if spec is None:
            raise ConfigError(f"{where}: study '{study.name}' has no claim '{rec['id']}' any "
                              "more; report it again from its store")
        # the file's verdict was judged against the needs it names: a claim whose needs changed
        # since (at the same study version) would show an old verdict beside new needs
        needs = [n.describe() for n in spec.regime.needs]
        if "needs" in rec and list(rec["needs"]) != needs:
            raise ConfigError(f"{where}: claim '{rec['id']}' of '{study.name}' was judged against"
                              f" the needs {rec['needs']}, the study file now names {needs};"
                              " report it again from its store")
        regime = (RegimeMatch(tuple(rec["scale_regime"].items()), tuple(rec["unmet"]),
                              spec.regime.needs) if rec["scale_regime"] else None)
        estimates = tuple(Estimate(e["label"], tuple(_nan(x) for x in e["values"]),
                                   _nan(e["mean"]), _nan(e["low"]), _nan(e["high"]))
                          for e in rec["estimates"])
        ref = rec.get("reference")
        reference = None if ref is None else (_nan(ref[0]), _nan(ref[1]))
        verdict = Verdict(rec["outcome"], rec["evidence"], rec["decide"], estimates, reference,
                          rec["axis"], _nan(rec["p"]), rec["decided_by"], regime,
                          _effect(rec["effect"], reference, _nan(rec["p"])))
        claims.append(ClaimResult(study.name, spec, rec["experiment"], verdict))
    experiments = []
    for e in entry["experiments"]:
        cells = tuple(Cell(**{k: (_nan(v) if k not in ("order", "condition", "n",
                                                        "epochs_to_target") else v)
                              for k, v in c.items()}) for c in e["cells"])
        chains = tuple(StageChain(ch["label"], ch["block"], tuple(
            ChainStep(st["name"], st["kind"], tuple(st["hist"]), tuple(st["hist_range"]),
                      _nan(st["frac_positive"])) for st in ch["steps"])) for ch in e["chains"])
        metric = e.get("metric") or {}  # written since user runs: accuracy before
        experiments.append(ExperimentRun(e["experiment"], e["runs"], e["trained"], e["finished"],
                                         _nan(e["wall_seconds"]), chains, cells, e["reference"],
                                         tuple(e["factors"]),
                                         Metric.named(metric.get("name"), metric.get("goal"))))
    # a file written before its study's guards: the guards applied to its stored verdicts
    return StudyResult(study, entry["scale"], entry["store"], tuple(guarded(claims)),
                       tuple(experiments), entry["machine"], entry["finished_at"])
