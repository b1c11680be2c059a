"""SARIF 2.1.0 output: one run, the rules as ``tool.driver.rules``, module paths as locations."""

from __future__ import annotations

from typing import Any

from layerorder.lint.report import LintReport
from layerorder.lint.rules import RULES
from layerorder.version import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"info": "note", "warning": "warning", "error": "error"}


def _rule(rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.why} ({rule.reference})"},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"reference": rule.reference},
    }


def to_sarif(report: LintReport, artifact: str | None = None) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict ready for ``json.dumps``).

    Locations are logical (the module path); ``artifact`` (the model's source file, when known)
    adds a physical location so code-scanning tools can attach results to that file.
    """
    index = {rule.id: i for i, rule in enumerate(RULES)}
    results = []
    for f in report.findings:
        location: dict[str, Any] = {
            "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "module"}]
        }
        if artifact:
            location["physicalLocation"] = {"artifactLocation": {"uri": artifact}}
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": LEVELS[f.severity],
                "message": {"text": f"{f.path}: {f.message}"},
                "locations": [location],
                "properties": {"related": list(f.related), "wastedParams": f.wasted_params},
            }
        )
    driver = {
        "name": "layerorder",
        "version": __version__,
        "rules": [_rule(r) for r in RULES],
    }
    run = {
        "tool": {"driver": driver},
        "results": results,
        "properties": {"target": report.target, "mode": report.mode, "modeNote": report.mode_note},
    }
    return {"version": SARIF_VERSION, "$schema": SARIF_SCHEMA, "runs": [run]}
