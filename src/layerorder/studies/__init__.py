"""Studies: the claims of the debate as versioned TOML files, each claim evaluated from stored
runs to supported, contradicted or undecided.

>>> from layerorder.studies import load_study, run_study, evaluate_study
>>> study = load_study("bn-activation")          # or a path to your own study file
>>> run_study(study, "quick", "layerorder-studies.db")
>>> result = evaluate_study(study, "quick", "layerorder-studies.db")
>>> [(c.claim.id, c.verdict.outcome) for c in result.claims]
>>> findings = evaluate_findings(builtin_studies(), "quick", "layerorder-studies.db")
>>> findings.family   # (study, claim, p, Holm-adjusted p) of every primary claim
"""

from layerorder.studies.catalog import builtin_names, builtin_studies, load_study
from layerorder.studies.claims import TESTS, Estimate, Verdict
from layerorder.studies.evidence import Evidence, Measure
from layerorder.studies.family import Findings, control_primary, evaluate_findings
from layerorder.studies.regime import Regime, RegimeMatch, in_regime, scale_regime
from layerorder.studies.run import (
    DEFAULT_STUDY_STORE,
    ClaimResult,
    ExperimentRun,
    StudyResult,
    evaluate_study,
    run_study,
    study_command,
)
from layerorder.studies.spec import ClaimSpec, ExperimentSpec, Scale, Study, parse_study

__all__ = [
    "DEFAULT_STUDY_STORE",
    "TESTS",
    "ClaimResult",
    "ClaimSpec",
    "Estimate",
    "Evidence",
    "ExperimentRun",
    "ExperimentSpec",
    "Findings",
    "Regime",
    "RegimeMatch",
    "Measure",
    "Scale",
    "Study",
    "StudyResult",
    "Verdict",
    "builtin_names",
    "builtin_studies",
    "control_primary",
    "evaluate_findings",
    "in_regime",
    "scale_regime",
    "evaluate_study",
    "load_study",
    "parse_study",
    "run_study",
    "study_command",
]
