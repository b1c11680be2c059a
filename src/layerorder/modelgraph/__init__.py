"""A user's model as a role graph: load it (``file.py:factory``, zoo names, Keras and ONNX files),
read its stages (fx, hooks, Keras and ONNX graphs), and rewrite it to another order.

    target = load_target("models.py:make_model")          # runs the file's code
    graph = build_role_graph(target.model, example_input((2, 3, 32, 32)))
    result = rewrite_model(target.model, to="conv-relu-bn", example_input=x)   # fx GraphModule

Training (``layerorder.experiment``) rewrites a user's model with it; ``layerorder.lint`` runs its
rules over the same graph.
"""

from layerorder.modelgraph.build import build_role_graph, example_input, parse_shape
from layerorder.modelgraph.census import PatternCount, census
from layerorder.modelgraph.errors import LintError
from layerorder.modelgraph.formats import FORMATS, ModelFormat
from layerorder.modelgraph.graph import RoleGraph, RoleNode
from layerorder.modelgraph.plans import RewriteChange, RewriteSkip
from layerorder.modelgraph.rewrite import (
    AS_IS,
    RewriteResult,
    block_orders,
    rewrite_model,
    rewritten,
)
from layerorder.modelgraph.target import Target, load_target

__all__ = [
    "AS_IS",
    "FORMATS",
    "LintError",
    "ModelFormat",
    "PatternCount",
    "RewriteChange",
    "RewriteResult",
    "RewriteSkip",
    "RoleGraph",
    "RoleNode",
    "Target",
    "block_orders",
    "build_role_graph",
    "census",
    "example_input",
    "load_target",
    "parse_shape",
    "rewrite_model",
    "rewritten",
]
