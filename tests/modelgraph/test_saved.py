"""Saved PyTorch files as lint targets (``layerorder.modelgraph.saved``): a ``torch.export``
program and a TorchScript program are linted; a state dict and a pickled module (without
``--trust-pickle``) are refused in one line, and the refusal runs none of the file's code."""

from __future__ import annotations

import torch
from torch import nn

from tests.helpers import run_cli


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(),
                         nn.BatchNorm2d(8))


class Planted:
    """Unpickling it runs ``os.system`` (what a malicious checkpoint does)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_an_exported_program_is_linted(tmp_path, capsys):
    path = tmp_path / "prog.pt2"
    torch.export.save(torch.export.export(_model().eval(), (torch.randn(1, 3, 8, 8),)), path)
    code, out, err = run_cli(capsys, "lint", path)
    assert code == 0, err
    assert "1 weight, 2 norm, 1 act, 1 dropout" in out and "dropout-before-norm" in out


def test_a_state_dict_is_refused_with_what_to_give(tmp_path, capsys):
    weights = tmp_path / "sd.pt"
    torch.save(_model().state_dict(), weights)
    code, _, err = run_cli(capsys, "lint", weights)
    assert code == 2 and "is a state dict (12 tensors of 0, 1, 4)" in err
    assert "FILE.py:FACTORY" in err and len(err.strip().splitlines()) == 1


def test_a_torchscript_program_is_linted_and_only_linted(tmp_path, capsys):
    script = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(_model()), script)
    code, _, err = run_cli(capsys, "lint", script)
    assert code == 2 and "is a TorchScript program" in err and "--trust-pickle" in err
    code, out, err = run_cli(capsys, "lint", script, "--trust-pickle", "--format", "json")
    assert code == 0, err
    import json

    data = json.loads(out)
    assert data["mode"] == "torchscript"
    eager = run_cli(capsys, "lint", f"{__file__}:_model", "-i", "1,3,8,8", "--format", "json")[1]
    assert data["census"] == json.loads(eager)["census"]
    for command in (("fold", "-i", "1,3,8,8", "--trust-pickle"),
                    ("rewrite", "--swap", "norm,act", "--trust-pickle")):
        code, _, err = run_cli(capsys, *command[:1], script, *command[1:])
        assert code == 2 and "is a TorchScript program: lint reads it" in err


def test_a_pickle_runs_no_code_without_trust(tmp_path, capsys):
    marker, evil = tmp_path / "PWNED", tmp_path / "evil.pt"
    torch.save({"model": Planted(marker)}, evil)
    for command in ("lint", "fold", "rewrite"):
        code, _, err = run_cli(capsys, command, evil, "-i", "1,3,8,8")
        assert code == 2 and "--trust-pickle" in err, err
    assert not marker.exists()  # the refusal unpickled nothing that runs code
    whole = tmp_path / "whole.pt"
    torch.save(_model(), whole)
    code, _, err = run_cli(capsys, "lint", whole)
    assert code == 2 and "holds pickled Python objects" in err
    code, out, err = run_cli(capsys, "lint", whole, "--trust-pickle")
    assert code == 0 and "dropout-before-norm" in out, err
