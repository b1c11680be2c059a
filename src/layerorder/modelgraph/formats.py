"""Model formats besides PyTorch that ``lint`` reads: one declaration each, used by the target
loader, the CLI and the report (a file suffix, a loader, a role-graph builder, an object test)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerorder.modelgraph.extras import EXTRAS
from layerorder.modelgraph.graph import RoleGraph


def _is_keras(obj: Any) -> bool:
    from layerorder.modelgraph.keras_graph import is_keras_model

    return is_keras_model(obj)


def _is_onnx(obj: Any) -> bool:
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(obj, onnx.ModelProto)


def _keras_file(path: str) -> Any:
    from layerorder.modelgraph.keras_graph import load_keras_file

    return load_keras_file(path)


def _onnx_file(path: str) -> Any:
    from layerorder.modelgraph.onnx_graph import load_onnx_file

    return load_onnx_file(path)


def _keras_graph(model: Any) -> RoleGraph:
    from layerorder.modelgraph.keras_graph import graph_from_keras

    return graph_from_keras(model)


def _onnx_graph(model: Any) -> RoleGraph:
    from layerorder.modelgraph.onnx_graph import graph_from_onnx

    return graph_from_onnx(model)


@dataclass(frozen=True)
class ModelFormat:
    name: str  # also the role graph's mode
    title: str
    suffixes: tuple[str, ...]
    load_file: Callable[[str], Any]
    graph: Callable[[Any], RoleGraph]
    is_model: Callable[[Any], bool]
    mode_name: str  # how the report names where the graph came from
    extra: str  # the pip extra that installs what it needs

    @property
    def article(self) -> str:
        return "an" if self.title[0] in "AEIOU" else "a"


FORMATS: dict[str, ModelFormat] = {
    f.name: f
    for f in (
        ModelFormat(
            "keras",
            "Keras",
            (".keras", ".h5"),
            _keras_file,
            _keras_graph,
            _is_keras,
            "Keras layer graph",
            EXTRAS["keras"],
        ),
        ModelFormat(
            "onnx",
            "ONNX",
            (".onnx",),
            _onnx_file,
            _onnx_graph,
            _is_onnx,
            "ONNX graph",
            EXTRAS["onnx"],
        ),
    )
}


def format_of_file(spec: str) -> ModelFormat | None:
    """The format a file target names by its suffix (``model.keras``, ``net.onnx``), or None."""
    suffix = Path(str(spec).strip()).suffix.lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), None)


def format_of_object(obj: Any) -> ModelFormat | None:
    """The format of a loaded model object (a ``keras.Model``, an ``onnx.ModelProto``), or None."""
    return next((f for f in FORMATS.values() if f.is_model(obj)), None)


def lint_only(fmt: ModelFormat, spec: str) -> str:
    """The one-line refusal for commands other than lint."""
    return (
        f"'{spec}' is {fmt.article} {fmt.title} model: `layerorder lint` reads it, but rewrite,"
        " fold, compare and probe need a PyTorch model (FILE.py:FACTORY returning an nn.Module)"
    )
