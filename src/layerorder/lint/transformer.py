"""Transformer blocks in a user's model: where each block puts its norms, and the stack's final
norm.

Most blocks are read from the data flow, by structure (``layerorder.lint.residual``). A block
whose module is a leaf of the role graph cannot be seen inside, so it is read from its settings:

- ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``: ``norm_first`` (pre) or not
  (post);
- layerorder's own ``EncoderLayer``: its placement;
- timm's ViT ``Block`` (``norm1``, ``attn``, ``norm2``, ``mlp``): pre-norm; ``ResPostBlock``:
  post-norm; torchvision's ViT ``EncoderBlock`` (``ln_1``, ``self_attention``, ``ln_2``,
  ``mlp``): pre-norm (these trace, so the structural reader finds them too; the class wins).

A stack of pre-norm blocks leaves the residual stream unnormalised, so it needs one more norm
after its last block (``nn.TransformerEncoder(norm=...)``, GPT-2's ``ln_f``, ViT's final
``norm``): the rule ``pre-norm-no-final-norm`` finds a pre-norm stack with none. An embedding
norm right before the first block's pre-norm (BLOOM's ``word_embeddings_layernorm``, Swin's
patch-embedding norm) normalises the stream the blocks add to, so ``norm-after-norm`` there is
a note, not a warning.
"""

from __future__ import annotations

import dataclasses

from torch import nn

from layerorder.lint.residual import TransformerBlock, TransformerStack, residual_stacks
from layerorder.lint.rules import Finding, finding
from layerorder.modelgraph.census import PatternCount
from layerorder.modelgraph.graph import RoleGraph
from layerorder.modelgraph.roles import module_entry
from layerorder.modelgraph.script_graph import is_script_module, standin
from layerorder.placements import PLACEMENT_NORM_OF_KIND

__all__ = ["TransformerBlock", "TransformerStack", "module_stacks", "transformer_stacks"]


def _class_name(module: nn.Module | None) -> str:
    """A module's class name; a TorchScript module's is the class it was scripted from."""
    return getattr(module, "original_name", None) or type(module).__name__


def _norm_kind(module: nn.Module | None) -> str | None:
    """The role graph's kind of a norm module (a scripted one read through its eager twin),
    None for anything else."""
    if is_script_module(module):
        module = standin(module)
    entry = module_entry(module) if module is not None else None
    return entry[1] if entry is not None and entry[0] == "norm" else None


def _norm_name(module: nn.Module | None) -> str:
    return PLACEMENT_NORM_OF_KIND.get(_norm_kind(module) or "ln", "norm")


def _placement(module: nn.Module) -> tuple[str, str] | None:
    """(placement, the attribute naming its first norm) of a block class read by its settings."""
    from layerorder.blocks.sublayer import EncoderLayer

    name = _class_name(module)
    if name in ("TransformerEncoderLayer", "TransformerDecoderLayer") and hasattr(
        module, "norm_first"
    ):  # torch's own, eager or scripted
        return f"{'pre' if module.norm_first else 'post'}-{_norm_name(module.norm1)}", "norm1"
    if isinstance(module, EncoderLayer):
        return module.attention.placement.spec, ""
    if all(hasattr(module, a) for a in ("norm1", "attn", "norm2", "mlp")):  # timm
        return f"{'post' if name == 'ResPostBlock' else 'pre'}-{_norm_name(module.norm1)}", "norm1"
    if all(hasattr(module, a) for a in ("ln_1", "self_attention", "ln_2", "mlp")):  # torchvision
        return f"pre-{_norm_name(module.ln_1)}", "ln_1"
    return None


def _final_norm(model: nn.Module, last: str) -> str:
    """The first norm module registered after the block ``last`` and outside it."""
    names = [p for p, _ in model.named_modules()]
    modules = dict(model.named_modules())
    after = names[names.index(last) + 1 :]
    return next((p for p in after if not p.startswith(last + ".")
                 and _norm_kind(modules[p]) is not None), "")


def module_stacks(model: nn.Module) -> list[TransformerStack]:
    """The blocks of the classes above (outermost only), as one stack in registration order."""
    found: list[TransformerBlock] = []
    for path, module in model.named_modules():
        if any(path.startswith(b.path + ".") for b in found):
            continue
        read = _placement(module)
        if read is not None:
            placement, first = read
            opening = f"{path}.{first}" if first and placement.startswith(("pre", "sandwich")) \
                else ""
            found.append(TransformerBlock(path, placement, _class_name(module), opening))
    if not found:
        return []
    return [TransformerStack(tuple(found), _final_norm(model, found[-1].path))]


def _inside(path: str, stacks: list[TransformerStack]) -> bool:
    return any(path == b.path or path.startswith(b.path + ".") or b.path.startswith(path + ".")
               for s in stacks for b in s.blocks)


def transformer_stacks(graph: RoleGraph,
                       known: list[TransformerStack] = ()) -> list[TransformerStack]:
    """``known`` stacks (read from block classes) and the ones the data flow shows besides."""
    found = [s for s in residual_stacks(graph)
             if not any(_inside(b.path, list(known)) for b in s.blocks)]
    return [*known, *found]


def transformer_census(stacks: list[TransformerStack]) -> tuple[PatternCount, ...]:
    counts: dict[str, int] = {}
    for stack in stacks:
        for b in stack.blocks:
            counts[b.placement] = counts.get(b.placement, 0) + 1
    return tuple(PatternCount(f"transformer block: {p}", n, 0) for p, n in counts.items())


def pre_norm_no_final_norm(stacks: list[TransformerStack]) -> list[Finding]:
    """A pre-norm (or sandwich) stack whose last block is followed by no norm."""
    out = []
    for stack in stacks:
        if stack.needs_final_norm and not stack.final_norm:
            last = stack.blocks[-1].path
            out.append(finding(
                "pre-norm-no-final-norm", last,
                f"{len(stack.blocks)} {stack.placement} blocks end at '{last}' with no norm after"
                " them: the residual stream reaches the head unnormalised",
                related=tuple(b.path for b in stack.blocks[:-1])[:3],
            ))
    return out


def embedding_norms(findings: list[Finding], stacks: list[TransformerStack]) -> list[Finding]:
    """``norm-after-norm`` findings whose second norm opens a stack's first pre-norm block
    become notes: the first norm is an embedding norm, and the stream keeps its output."""
    openings = {s.blocks[0].first_norm: s for s in stacks
                if s.needs_final_norm and s.blocks[0].first_norm}
    out = []
    for f in findings:
        stack = openings.get(f.path) if f.rule == "norm-after-norm" else None
        if stack is None:
            out.append(f)
            continue
        first = f.related[0] if f.related else "the norm before it"
        out.append(dataclasses.replace(
            f, severity="info",
            message=f"embedding norm {first} feeds the pre-norm {f.path} of the first"
            f" {stack.placement} block: the residual stream keeps the embedding norm's output,"
            " so the two are not redundant (as in BLOOM and Swin)",
        ))
    return out
