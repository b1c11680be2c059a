"""The layering of DESIGN.md as a contract read from the source: no import cycles (lazy and
type-checking imports included), nothing below ``cli/`` imports ``cli/``, and no import from a
lower layer to a higher one beyond the ones listed in ``KNOWN_UPWARD`` (to be removed, never
added to: a listed import that is gone fails too, so the list only shrinks)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "layerorder"

# DESIGN.md, "Layers", from the bottom up; a module may import its own layer or below
LAYERS = {
    "errors": 1, "order": 1, "archs": 1, "activations": 1, "targets": 1, "files": 1,
    "callable_package": 1, "durations": 1, "version": 1, "lazy": 1, "placements": 1, "terminal": 1,
    "seeding": 1,
    "blocks": 2, "data": 2, "store": 2, "stats": 2,
    "models": 3, "probe": 3, "modelgraph": 3, "trials": 3,
    "experiment": 4,
    "lint": 5, "studies": 5, "search": 5, "report": 5, "export": 5,
    "__init__": 6, "api": 6, "results": 6, "stubs": 6,
    "cli": 7, "__main__": 7,
}

# upward imports the code has today (module -> module it imports)
KNOWN_UPWARD: set[tuple[str, str]] = set()


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the layerorder modules it imports anywhere in its file (a name imported from a
    package counts as its submodule when there is one)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


# experiment's parts from the bottom up (DESIGN.md, layer 4); its own modules (setup, validate)
# sit above all three
EXPERIMENT_PARTS = {"configuration": 0.1, "training": 0.2, "execution": 0.3}


def layer(module: str) -> float:
    parts = module.split(".")
    base = LAYERS["__init__" if len(parts) == 1 else parts[1]]
    if len(parts) > 2 and parts[1] == "experiment":
        return base + EXPERIMENT_PARTS.get(parts[2], 0.4)
    return base


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(m, t) for m, ts in graph.items() for t in ts if layer(t) > layer(m)}


def test_every_package_has_a_layer():
    graph = import_graph(ROOT)
    missing = sorted({m.split(".")[1] for m in graph if "." in m} - set(LAYERS))
    assert not missing, f"give these packages a layer in LAYERS and DESIGN.md: {missing}"


def test_no_import_cycles():
    assert cycles(import_graph(ROOT)) == []


def cli_importers(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((m, t) for m, ts in graph.items() for t in ts
                  if layer(m) < layer("layerorder.cli") and t.startswith("layerorder.cli"))


def test_nothing_below_the_cli_imports_it():
    assert cli_importers(import_graph(ROOT)) == []


def test_no_new_upward_import_and_the_known_ones_still_listed():
    found = upward(import_graph(ROOT))
    assert found - KNOWN_UPWARD == set(), "an import from a lower layer to a higher one"
    assert KNOWN_UPWARD - found == set(), "an upward import is gone: remove it from KNOWN_UPWARD"


@pytest.mark.parametrize(("where", "line", "check"), [
    ("store/records.py", "from layerorder.experiment.execution import runner", "upward"),
    ("experiment/training/loop.py", "from layerorder.experiment.execution import runner",
     "upward"),
    ("models/base.py", "from layerorder.cli import console", "cli"),
    ("blocks/registry.py", "from layerorder.models import base", "cycle"),
])
def test_a_planted_import_is_caught(tmp_path, where, line, check):
    """The checks read real files: a copy of the package with one planted import fails them."""
    import shutil

    copy = tmp_path / "layerorder"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / where
    target.write_text(target.read_text() + f"\n\ndef _planted():\n    {line}\n")
    graph = import_graph(copy)
    if check == "upward":
        assert upward(graph) - KNOWN_UPWARD
    elif check == "cli":
        assert cli_importers(graph) == [("layerorder.models.base", "layerorder.cli.console")]
    else:
        assert cycles(graph)
