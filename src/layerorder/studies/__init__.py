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

from layerorder.lazy import lazy_names

# public name -> the module that defines it; imported on first use, so that a light part
# (``spec``, ``catalog``: what ``layerorder study list`` reads) is imported without the
# statistics and the training stack
_LAZY = {
    **dict.fromkeys(("DEFAULT_STUDY_STORE", "builtin_names", "builtin_studies", "load_study"),
                    "catalog"),
    **dict.fromkeys(("TESTS", "Estimate", "Verdict"), "claims"),
    **dict.fromkeys(("Evidence", "Measure"), "evidence"),
    **dict.fromkeys(("Findings", "control_primary", "evaluate_findings"), "family"),
    **dict.fromkeys(("Regime", "RegimeMatch", "in_regime", "scale_regime"), "regime"),
    **dict.fromkeys(("ClaimResult", "ExperimentRun", "StudyResult",
                     "evaluate_study", "run_study", "study_command"), "run"),
    **dict.fromkeys(("ClaimSpec", "ExperimentSpec", "Scale", "Study", "parse_study"), "spec"),
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
