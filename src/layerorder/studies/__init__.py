"""Studies: the claims of the debate as versioned TOML files, each claim evaluated from stored
runs to supported, contradicted or undecided.

>>> from layerorder.studies import load_study, run_study, evaluate_study
>>> study = load_study("bn-activation")          # or a path to your own study file
>>> run_study(study, "quick", "layerorder-studies.db")
>>> result = evaluate_study(study, "quick", "layerorder-studies.db")
>>> [(c.claim.id, c.verdict.outcome) for c in result.claims]
"""

from layerorder.studies.catalog import builtin_names, builtin_studies, load_study
from layerorder.studies.claims import TESTS, Estimate, Verdict
from layerorder.studies.evidence import Evidence, Measure
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
    "Measure",
    "Scale",
    "Study",
    "StudyResult",
    "Verdict",
    "builtin_names",
    "builtin_studies",
    "evaluate_study",
    "load_study",
    "parse_study",
    "run_study",
    "study_command",
]
