"""Write a rewritten or folded model: a pickled torch.fx GraphModule plus its code, for reading.

A GraphModule pickles its generated code with its submodules and parameters, so loading it needs
torch (and the classes of any custom leaf modules), not the model's original source.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.fx as fx
from torch import nn

from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.trace import trace_module


def _as_graph_module(model: nn.Module) -> fx.GraphModule | None:
    if isinstance(model, fx.GraphModule):
        return model
    try:
        return trace_module(model)
    except Exception:
        return None


def save_model(model: nn.Module, path: str | Path, *, source: str = "") -> list[Path]:
    """Save ``model`` to ``path`` with ``torch.save``; returns the files written.

    Traceable models are saved as a GraphModule and get a ``.py`` file next to them with the
    forward code. Load with ``torch.load(path, weights_only=False)``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gm = _as_graph_module(model)
    try:
        torch.save(gm if gm is not None else model, path)
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise LintError(f"cannot save the model to '{path}': {short_reason(exc)}") from exc
    if gm is None:
        return [path]
    code_path = path.with_suffix(".py") if path.suffix != ".py" else path.with_suffix(".code.py")
    header = (
        f"# forward code of the torch.fx GraphModule saved in {path.name}"
        + (f" (from {source})" if source else "")
        + f"\n# load it with: model = torch.load('{path.name}', weights_only=False)\n"
    )
    code_path.write_text(header + gm.code)
    return [path, code_path]
