"""Helpers shared by the tests: the CLI in-process and as a subprocess, a tiny grid, file
hashes, and a model with torch's own dropout."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from layerorder.cli.app import main

# A grid that trains in about a second: tiny data, tiny model.
TINY = [
    "--dataset",
    "synthetic",
    "--arch",
    "mlp",
    "--width",
    "16",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--executor",
    "sequential",
]


def run_cli(capsys, *args):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def run_subprocess(*args, cwd=None, timeout=600, env=None):
    return subprocess.run(
        [sys.executable, "-m", "layerorder", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def with_torch_dropout(model: nn.Module) -> nn.Module:
    """Swap every layerorder ``Dropout`` (an ``nn.Dropout`` subclass) for a plain ``nn.Dropout``."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Dropout):
                setattr(parent, name, nn.Dropout(child.p))
    return model
