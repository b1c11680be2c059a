"""A PyTorch model saved to a file (``FILE.pt``, ``.pth``, ``.pt2``), as a module to read.

- ``torch.export`` programs (``.pt2``, ``torch.export.save``): the program's graph module.
- TorchScript archives (``torch.jit.save``): a program. ``torch.jit.load`` compiles the code it
  holds and may run some of it (a class's ``__setstate__``), so it is loaded only when the
  caller trusts the file (``--trust-pickle``); lint then reads its graphs without calling
  ``forward`` (``modelgraph.script_graph``).
- ``torch.save`` files are opened with ``weights_only=True``, which unpickles tensors and plain
  containers only. A state dict (names to tensors) holds no module to read: refused, naming its
  layers and what to give instead. A pickled whole module can be unpickled only by running code
  from the file (``weights_only=False``): refused unless the caller says it trusts the file
  (``--trust-pickle``).
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from layerorder.modelgraph.errors import LintError, short_reason

SUFFIXES = (".pt", ".pth", ".pt2")  # a saved PyTorch model or state dict
TRUST_HINT = ("if you trust the file, pass --trust-pickle (torch.load(weights_only=False) runs"
              " the code the file names), or lint the code that builds it: FILE.py:FACTORY")


def is_saved_file(spec: str) -> bool:
    return Path(str(spec).strip()).suffix.lower() in SUFFIXES and Path(spec).is_file()


def _archive_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def load_saved(path: Path, *, trust_pickle: bool = False) -> nn.Module:
    """The module saved in ``path`` (see the module docstring), or a one-line ``LintError``."""
    names = _archive_names(path)
    if any(n.endswith("/serialized_exported_program.json") or "/models/" in n for n in names):
        try:
            return torch.export.load(str(path)).module()
        except Exception as exc:
            raise LintError(f"cannot read the torch.export program '{path}':"
                            f" {short_reason(exc)}") from exc
    if any("/code/" in n for n in names):
        if not trust_pickle:
            raise LintError(f"'{path}' is a TorchScript program: loading it compiles the code it"
                            " holds, which may run; if you trust the file, pass --trust-pickle"
                            " (lint then reads its graphs without running the model), or lint"
                            " the code that builds it: FILE.py:FACTORY")
        try:
            with warnings.catch_warnings():  # torch.jit is deprecated, and still what made it
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise LintError(f"cannot read the TorchScript program '{path}':"
                            f" {short_reason(exc)}") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only met a class: code it would have to run
        if not trust_pickle:
            raise LintError(f"'{path}' holds pickled Python objects (a whole module, say), not"
                            f" only tensors; {TRUST_HINT}") from None
        obj = _trusted(path)
    except Exception as exc:
        raise LintError(f"cannot read '{path}' with torch.load: {short_reason(exc)}") from exc
    if isinstance(obj, nn.Module):
        return obj
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor)
                                                for v in obj.values()):
        layers = sorted({str(k).rsplit(".", 1)[0] for k in obj})
        shown = ", ".join(layers[:4]) + (f" and {len(layers) - 4} more" if len(layers) > 4 else "")
        raise LintError(f"'{path}' is a state dict ({len(obj)} tensors of {shown}): weights"
                        " without the module that uses them; lint the code that builds the"
                        " module: FILE.py:FACTORY")
    raise LintError(f"'{path}' holds a {type(obj).__name__}, not an nn.Module; lint the code that"
                    " builds the model: FILE.py:FACTORY")


def _trusted(path: Path):
    """What ``path`` holds, unpickled with the code it names (the caller trusts the file)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise LintError(f"cannot load '{path}' even trusting its pickle: {short_reason(exc)}"
                        ) from exc
