"""Read any nn.Module's layer order: role graph, pattern census, rules, rewrite and BN folding.

    report = lint_model(model)                      # census, findings, fold plans
    report = lint_any("model.keras")                # also Keras 3 and ONNX models (lint only)
    result = rewrite_model(model, to="conv-relu-bn", example_input=x)   # fx GraphModule
    folded = fold_model(model, x)                   # BN folded, outputs checked

Targets (``load_target``) are strings like ``models.py:make_model``; loading one runs its code.
"""

from layerorder.callable_package import make_callable
from layerorder.lazy import lazy_names

# public name -> the module that defines it, imported on first use
_LAZY = {
    **dict.fromkeys(("FoldResult", "fold_model"), "fold"),
    **dict.fromkeys(("FoldPlan", "fold_plans"), "foldplan"),
    **dict.fromkeys(
        ("LintReport", "lint_any", "lint_graph", "lint_model", "report_dict"),
        "report",
    ),
    **dict.fromkeys(("RULES", "RULES_BY_ID", "SEVERITIES", "Finding", "Rule"), "rules"),
    **dict.fromkeys(("TransformerBlock", "TransformerStack", "residual_stacks"), "residual"),
    **dict.fromkeys(("to_sarif",), "sarif"),
    **dict.fromkeys(("save_model",), "save"),
    **dict.fromkeys(
        ("build_role_graph", "example_input", "parse_shape"),
        "layerorder.modelgraph.build",
    ),
    **dict.fromkeys(("PatternCount", "census"), "layerorder.modelgraph.census"),
    **dict.fromkeys(("LintError",), "layerorder.modelgraph.errors"),
    **dict.fromkeys(("FORMATS", "ModelFormat"), "layerorder.modelgraph.formats"),
    **dict.fromkeys(("RoleGraph", "RoleNode"), "layerorder.modelgraph.graph"),
    **dict.fromkeys(("RewriteChange", "RewriteSkip"), "layerorder.modelgraph.plans"),
    **dict.fromkeys(
        ("RewriteResult", "block_orders", "rewrite_model"),
        "layerorder.modelgraph.rewrite",
    ),
    **dict.fromkeys(("Target", "load_target"), "layerorder.modelgraph.target"),
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)

make_callable(__name__)
