"""``lint_model``: role graph -> census, fold plans and findings, in one record."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from layerorder.lint.checks import CHECKS
from layerorder.lint.foldplan import FoldPlan, fold_plans
from layerorder.lint.rules import RULES, SEVERITIES, Finding, severity_rank
from layerorder.lint.transformer import (
    TransformerStack,
    embedding_norms,
    module_stacks,
    pre_norm_no_final_norm,
    transformer_census,
    transformer_stacks,
)
from layerorder.modelgraph.build import build_role_graph, example_input, module_output_sizes
from layerorder.modelgraph.census import PatternCount, census
from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.formats import format_of_object
from layerorder.modelgraph.graph import ENDPOINT_ROLES, RoleGraph
from layerorder.modelgraph.inputs import config_input
from layerorder.modelgraph.target import load_target
from layerorder.targets import LOAD_TIMEOUT


@dataclass(frozen=True)
class LintReport:
    target: str
    mode: str  # how it was read: 'fx', 'hooks', 'torchscript', or a format's ('keras', 'onnx')
    mode_note: str  # why the hooks mode was used ('' when it was asked for, or for fx)
    roles: tuple[tuple[str, int], ...]  # (role, node count)
    census: tuple[PatternCount, ...]
    findings: tuple[Finding, ...]
    folds: tuple[FoldPlan, ...]
    stacks: tuple[TransformerStack, ...] = ()  # Transformer blocks, by stack, and final norms

    def counts(self) -> dict[str, int]:
        """Findings per severity."""
        out = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def by_rule(self) -> dict[str, list[Finding]]:
        """Findings grouped by rule, in the order of ``RULES``."""
        groups: dict[str, list[Finding]] = {r.id: [] for r in RULES}
        for f in self.findings:
            groups.setdefault(f.rule, []).append(f)
        return {rule: fs for rule, fs in groups.items() if fs}

    def to_pandas(self):
        """One row per finding: rule, severity, place, message, related places, wasted params."""
        import pandas as pd

        return pd.DataFrame(
            [dataclasses.asdict(f) for f in self.findings],
            columns=[f.name for f in dataclasses.fields(Finding)],
        )

    def _repr_html_(self) -> str:
        from html import escape

        census = ", ".join(f"{c.pattern} x{c.count}" for c in self.census if c.count)
        head = f"<p><strong>{escape(self.target)}</strong>: {escape(census or 'no blocks')}</p>"
        return head + self.to_pandas().to_html(index=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as ``layerorder lint --format json`` prints it."""
        return report_dict(self)

    def __str__(self) -> str:
        """What ``layerorder lint`` prints, without colour."""
        from layerorder.lint.text import lint_view
        from layerorder.terminal import as_text

        return as_text(lint_view(self))

    def pattern_count(self, pattern: str) -> int:
        return next((c.count for c in self.census if c.pattern == pattern), 0)

    def exit_code(self, fail_on: str | None) -> int:
        """1 when a finding at or above ``fail_on`` exists, else 0 (None: always 0)."""
        if fail_on is None:
            return 0
        if fail_on not in SEVERITIES:
            raise LintError(f"--fail-on must be one of {', '.join(SEVERITIES)}, got '{fail_on}'")
        limit = severity_rank(fail_on)
        return int(any(severity_rank(f.severity) >= limit for f in self.findings))


def lint_graph(graph: RoleGraph, target: str = "model",
               known: Sequence[TransformerStack] = ()) -> LintReport:
    """Run the census, the fold planner and every rule on a role graph; Transformer stacks are
    read from it by structure, besides the ``known`` ones (read from block classes)."""
    folds = fold_plans(graph)
    by_index = {plan.norm_index: plan for plan in folds}
    findings: list[Finding] = []
    for check in CHECKS.values():
        findings.extend(check(graph, by_index))
    stacks = transformer_stacks(graph, list(known))
    findings = embedding_norms(findings, stacks) + pre_norm_no_final_norm(stacks)
    return LintReport(
        target=target,
        mode=graph.mode,
        mode_note=graph.note,
        roles=tuple(graph.role_counts().items()),
        census=transformer_census(stacks) + census(graph),
        findings=tuple(findings),
        folds=folds,
        stacks=tuple(stacks),
    )


def lint_model(
    model: nn.Module,
    *,
    input_shape: Sequence[int] | None = None,
    example: torch.Tensor | None = None,
    mode: str = "auto",
    target: str = "model",
) -> LintReport:
    """Lint a module: trace it (or, when that fails and an input is given, run it with hooks).

    ``input_shape`` makes a seeded random input when ``example`` is not given; with neither, a
    Hugging Face model's input comes from its config (``modelgraph.inputs``), and the report's
    note says so.
    """
    if example is None:
        example = example_input(input_shape)
    origin = ""
    if example is None and (from_config := config_input(model)) is not None:
        example, origin = from_config.tensor, from_config.note
    graph = build_role_graph(model, example=example, mode=mode, name=target)
    # sizes per stage (what a rule's fix saves per forward pass), where the model can run; the
    # hooks mode measured them in its own run
    if example is not None and graph.mode not in ("torchscript", "hooks"):
        graph = graph.with_sizes(module_output_sizes(model, example))
    if origin:
        graph = dataclasses.replace(graph, note="; ".join(filter(None, (graph.note, origin))))
    # blocks whose module the graph cannot see inside are read from their classes
    return lint_graph(graph, target, known=module_stacks(model))


def lint_any(
    model: Any,
    *,
    input_shape: Sequence[int] | None = None,
    example: torch.Tensor | None = None,
    mode: str = "auto",
    target: str | None = None,
    timeout: float | None = LOAD_TIMEOUT,
) -> LintReport:
    """Lint a PyTorch, Keras 3 or ONNX model: an object (``nn.Module``, ``keras.Model``,
    ``onnx.ModelProto``) or a target string (``models.py:make``, ``model.keras``, ``net.onnx``,
    ``timm:resnet18``). Keras and ONNX models are read from their own layer graphs, so
    ``input_shape``, ``example`` and ``mode`` apply to PyTorch models only."""
    name = target or (model if isinstance(model, str) else "model")
    if isinstance(model, str):
        loaded = load_target(model, timeout=timeout, foreign=True)
        model = loaded.model
        if example is None and input_shape is None and isinstance(model, nn.Module):
            example = loaded.example  # the input the target names, if any
    fmt = format_of_object(model)
    if fmt is None:
        if not isinstance(model, nn.Module):
            raise LintError(
                f"cannot lint a {type(model).__name__}: give an nn.Module, a keras.Model, an"
                " onnx.ModelProto or a target string"
            )
        return lint_model(model, input_shape=input_shape, example=example, mode=mode, target=name)
    if mode != "auto" or input_shape is not None or example is not None:
        raise LintError(
            f"--mode and --input-shape are for PyTorch models; a {fmt.title} model is read from"
            " its own graph: leave them out"
        )
    try:
        graph = fmt.graph(model)
    except LintError:
        raise
    except Exception as exc:
        reason = short_reason(exc)
        raise LintError(f"cannot read the {fmt.title} graph of {name}: {reason}") from exc
    if all(n.role in ENDPOINT_ROLES for n in graph.nodes):
        raise LintError(
            f"{name} has no {fmt.title} layers on the path from its input to its output;"
            " check that the file is a complete model"
        )
    return lint_graph(graph, name)


def report_dict(report: LintReport) -> dict[str, Any]:
    """Plain JSON-ready data: the report's fields plus per-severity counts and the rules."""
    data = dataclasses.asdict(report)
    data["roles"] = dict(report.roles)
    data["census"] = {c.pattern: c.count for c in report.census}
    data["counts"] = report.counts()
    for plan in data["folds"]:
        plan.pop("after")
        plan.pop("norm_index")
        plan.pop("weight_index")
    data["rules"] = [dataclasses.asdict(r) for r in RULES]
    return data
