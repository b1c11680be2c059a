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


# the one place that seeds torch's generators for a run (its own device's alone)
SEEDS_RUNS = "seeding.py"
RESEED = re.compile(r"^[^#\n]*\b(?:torch\.(?:random\.)?manual_seed|torch\.seed|"
                    r"(?:cuda|mps|xpu|mtia)\.manual_seed(?:_all)?)\(", re.M)


def test_no_run_reseeds_every_device():
    """``torch.manual_seed`` reseeds every accelerator, and on a machine whose CUDA has not
    started it queues a reseed of every GPU that outlives any scope: runs in a caller's process
    (a notebook, ``compare(train=fn)`` calling ``trial.seed_everything()``) seed their own
    device's generators through ``layerorder.seeding.seed_run``, and model builds the CPU's."""
    offenders = [
        p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
        if p.relative_to(SRC).as_posix() != SEEDS_RUNS and RESEED.search(p.read_text())
    ]
    assert offenders == []
    assert RESEED.search("x = 1\n    torch.cuda.manual_seed_all(s)\n")
    assert not RESEED.search("# torch.manual_seed(s) would reseed every device\n")
