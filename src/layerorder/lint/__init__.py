"""Read any nn.Module's layer order: role graph, pattern census, rules, rewrite and BN folding.

    report = lint_model(model)                      # census, findings, fold plans
    report = lint_any("model.keras")                # also Keras 3 and ONNX models (lint only)
    result = rewrite_model(model, to="conv-relu-bn", example_input=x)   # fx GraphModule
    folded = fold_model(model, x)                   # BN folded, outputs checked

Targets (``load_target``) are strings like ``models.py:make_model``; loading one runs its code.
"""

from layerorder.lint.fold import FoldResult, fold_model
from layerorder.lint.foldplan import FoldPlan, fold_plans
from layerorder.lint.report import LintReport, lint_any, lint_graph, lint_model, report_dict
from layerorder.lint.rules import RULES, RULES_BY_ID, SEVERITIES, Finding, Rule
from layerorder.lint.sarif import to_sarif
from layerorder.lint.save import save_model
from layerorder.modelgraph.build import build_role_graph, example_input, parse_shape
from layerorder.modelgraph.census import PatternCount, census
from layerorder.modelgraph.errors import LintError
from layerorder.modelgraph.formats import FORMATS, ModelFormat
from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.modelgraph.plans import RewriteChange, RewriteSkip
from layerorder.modelgraph.rewrite import RewriteResult, block_orders, rewrite_model
from layerorder.modelgraph.target import Target, load_target

__all__ = [
    "FORMATS",
    "RULES",
    "RULES_BY_ID",
    "SEVERITIES",
    "Finding",
    "FoldPlan",
    "FoldResult",
    "LintError",
    "LintReport",
    "ModelFormat",
    "PatternCount",
    "RewriteChange",
    "RewriteResult",
    "RewriteSkip",
    "RoleGraph",
    "RoleNode",
    "Rule",
    "Target",
    "block_orders",
    "build_role_graph",
    "census",
    "example_input",
    "fold_model",
    "fold_plans",
    "lint_any",
    "lint_graph",
    "lint_model",
    "load_target",
    "parse_shape",
    "report_dict",
    "rewrite_model",
    "save_model",
    "to_sarif",
]

from layerorder.callable_package import make_callable  # noqa: E402

make_callable(__name__)
