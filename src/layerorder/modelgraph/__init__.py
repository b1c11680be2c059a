"""A user's model as a role graph: load it (``file.py:factory``, zoo names, Keras and ONNX files),
read its stages (fx, hooks, Keras and ONNX graphs), and rewrite it to another order.

    target = load_target("models.py:make_model")          # runs the file's code
    graph = build_role_graph(target.model, example_input((2, 3, 32, 32)))
    result = rewrite_model(target.model, to="conv-relu-bn", example_input=x)   # fx GraphModule

Training (``layerorder.experiment``) rewrites a user's model with it; ``layerorder.lint`` runs its
rules over the same graph.
"""

from layerorder.lazy import lazy_names

# the function ``census`` shares its name with its module, which importing the module would set
# as this package's attribute: bound here (the module is light), so it is always the function
from layerorder.modelgraph.census import PatternCount as PatternCount  # noqa: E402
from layerorder.modelgraph.census import census as census  # noqa: E402

# public name -> the module that defines it, imported on first use
_LAZY = {
    **dict.fromkeys(("build_role_graph", "example_input", "parse_shape"), "build"),
    **dict.fromkeys(("PatternCount", "census"), "census"),
    **dict.fromkeys(("LintError",), "errors"),
    **dict.fromkeys(("FORMATS", "ModelFormat"), "formats"),
    **dict.fromkeys(("RoleGraph", "RoleNode"), "graph"),
    **dict.fromkeys(("RewriteChange", "RewriteSkip"), "plans"),
    **dict.fromkeys(
        ("AS_IS", "RewriteResult", "block_orders", "rewrite_model", "rewritten"),
        "rewrite",
    ),
    **dict.fromkeys(("Target", "load_target"), "target"),
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
