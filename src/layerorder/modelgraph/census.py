"""Pattern census: how often each local layer order occurs along the data flow.

Definition. A *chain* is a path along data-flow edges between role nodes (model input and output
excluded). Counted are:

- every 3-chain ``a→b→c`` that starts at a weight or norm node (``conv→bn→relu``,
  ``bn→relu→conv``, ``conv→relu→bn``), and
- every 4-chain ``a→b→c→d`` that starts at a weight or norm node and has an add or concat as its
  second or third node, so residual and dense connections show where the sum sits
  (``conv→bn→add→relu`` in an original ResNet unit, ``conv→add→bn→relu`` in a pre-activation one),
- every 4-chain that starts at a weight or norm node and has a pool after its start, so a block's
  pooling shows where it sits (``conv→bn→relu→maxpool``, ``conv→maxpool→bn→relu``).

A node with two successors starts or continues one chain per successor, so branches are counted
separately. A module called twice (torchvision's shared ``relu``) is two nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerorder.modelgraph.graph import ENDPOINT_ROLES, RoleGraph

ARROW = "→"
START_ROLES = frozenset({"weight", "norm"})
JOIN_ROLES = frozenset({"add", "concat"})
BLOCK_ROLES = frozenset({"weight", "norm", "act", "dropout", "pool"})


@dataclass(frozen=True)
class PatternCount:
    pattern: str  # e.g. 'conv→bn→relu'
    count: int
    length: int  # 3 or 4


def _inner(graph: RoleGraph, index: int) -> list[int]:
    return [j for j in graph.succs[index] if graph.nodes[j].role not in ENDPOINT_ROLES]


def chains(graph: RoleGraph) -> list[tuple[int, ...]]:
    """Every counted chain, as node indices (see the module docstring)."""
    found: list[tuple[int, ...]] = []
    for a in graph.nodes:
        if a.role not in START_ROLES:
            continue
        for b in _inner(graph, a.index):
            for c in _inner(graph, b):
                found.append((a.index, b, c))
                roles = (graph.nodes[b].role, graph.nodes[c].role)
                joined = any(r in JOIN_ROLES for r in roles)
                for d in _inner(graph, c):
                    last = graph.nodes[d].role
                    pooled = last == "pool" or ("pool" in roles and last in BLOCK_ROLES)
                    if joined or pooled:
                        found.append((a.index, b, c, d))
    return found


def pattern_of(graph: RoleGraph, chain: tuple[int, ...]) -> str:
    return ARROW.join(graph.nodes[i].token for i in chain)


def census(graph: RoleGraph) -> tuple[PatternCount, ...]:
    """Counts per pattern, most frequent first (ties by pattern)."""
    counts: dict[str, tuple[int, int]] = {}
    for chain in chains(graph):
        key = pattern_of(graph, chain)
        n, _ = counts.get(key, (0, len(chain)))
        counts[key] = (n + 1, len(chain))
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))
    return tuple(PatternCount(p, n, length) for p, (n, length) in ordered)


def as_dict(counts: tuple[PatternCount, ...]) -> dict[str, int]:
    return {c.pattern: c.count for c in counts}
