"""Project-wide rules that a grep can check."""

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "layerorder"


def _torch_load_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "load" and getattr(node.func.value, "id", "") == "torch":
                yield node


# the one load of a pickle, run only when the user passed --trust-pickle (its refusal without the
# flag is tests/modelgraph/test_saved.py::test_a_pickle_runs_no_code_without_trust)
TRUSTED = {"modelgraph/saved.py": "_trusted"}


def test_every_torch_load_is_weights_only():
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        trusted = TRUSTED.get(str(path.relative_to(SRC)))
        allowed = {id(c) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                   and f.name == trusted for c in _torch_load_calls(f)}
        for call in _torch_load_calls(tree):
            if id(call) in allowed:
                continue
            ok = any(
                k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value
                for k in call.keywords
            )
            if not ok:
                offenders.append(f"{path.relative_to(SRC)}:{call.lineno}")
    assert offenders == []


def test_the_checker_finds_an_unsafe_load():
    bad = ast.parse("import torch\nx = torch.load('a.pt')\ny = torch.load('b', weights_only=True)")
    assert [c.lineno for c in _torch_load_calls(bad)] == [2, 3]


def test_nothing_below_cli_prints():
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "cli" not in p.parts and re.search(r"^\s*print\(", p.read_text(), re.M)
    ]
    assert offenders == []


# the one global reseed, in a user's own run process: ``layerorder.trial()``'s seed_everything
RESEEDS_EVERYTHING = {"trials/trial.py"}


def test_no_run_reseeds_every_device():
    """``torch.manual_seed`` reseeds every accelerator, and on a machine whose CUDA has not
    started it queues a reseed of every GPU that outlives any scope: runs in a caller's process
    seed their own device's generators (``experiment.training.scope.seed_run``) or the CPU's."""
    offenders = [
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
        if str(p.relative_to(SRC)) not in RESEEDS_EVERYTHING
        and re.search(r"^[^#\n]*torch\.manual_seed\(", p.read_text(), re.M)
    ]
    assert offenders == []
