"""Build a role graph: torch.fx first, forward hooks when tracing fails and an input is known."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.graph import RoleGraph
from layerorder.modelgraph.hooks import graph_from_hooks, note_output_size
from layerorder.modelgraph.inputs import decoder_fed
from layerorder.modelgraph.script_graph import graph_from_script, is_script_module
from layerorder.modelgraph.trace import graph_from_fx, trace_module

MODES = ("auto", "fx", "hooks")


def example_input(shape: Sequence[int] | None, seed: int = 0,
                  vocab: int | None = None) -> torch.Tensor | None:
    """A seeded input of ``shape`` (None stays None): standard normal, or with ``vocab`` token
    ids below it (a LongTensor, for a model that starts with an embedding)."""
    if shape is None:
        return None
    generator = torch.Generator().manual_seed(seed)
    if vocab is not None:
        if vocab < 1:
            raise LintError(f"--vocab must be a positive number of tokens, got {vocab}")
        return torch.randint(0, vocab, tuple(shape), generator=generator)
    return torch.randn(tuple(shape), generator=generator)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``'1,3,224,224'`` -> ``(1, 3, 224, 224)``; every size a positive integer."""
    if text is None or not str(text).strip():
        return None
    try:
        shape = tuple(int(part) for part in str(text).replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise LintError(
            f"input shape '{text}' is not a list of positive integers; write it like 1,3,224,224"
            " (batch size first)"
        )
    return shape


def describe_shape(example: torch.Tensor) -> str:
    return ",".join(str(s) for s in example.shape)


def _run_failed(what: str, example: torch.Tensor, exc: Exception) -> LintError:
    """One line for a model that did not run on the example; the fix names --vocab where the
    model wanted token ids and got floats (an embedding first)."""
    reason = short_reason(exc)
    tokens = not example.dtype.is_floating_point
    fix = ("; a model that takes token ids needs --vocab N (ids below N) with --input-shape"
           if "Long" in reason and not tokens else "; check --input-shape")
    return LintError(f"running {what} on a random input of shape {describe_shape(example)}"
                     f" failed: {reason}{fix}")


def run_model(model: nn.Module, example: torch.Tensor, what: str) -> torch.Tensor:
    """Run in eval mode without gradients; any failure becomes one LintError line."""
    from layerorder.modelgraph.hooks import eval_mode

    try:
        with torch.no_grad(), eval_mode(model), decoder_fed(model):
            return model(example)
    except Exception as exc:
        raise _run_failed(what, example, exc) from exc


def module_output_sizes(model: nn.Module, example: torch.Tensor) -> dict[str, int]:
    """Elements of each leaf module's output on one eval-mode run (first call only)."""
    sizes: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if name and next(module.children(), None) is None:

            def hook(mod, args, output, name=name):
                note_output_size(sizes, name, output)

            handles.append(module.register_forward_hook(hook))
    try:
        run_model(model, example, "the model")
    finally:
        for handle in handles:
            handle.remove()
    return sizes


def _hooks(model: nn.Module, example: torch.Tensor, name: str, note: str) -> RoleGraph:
    try:
        with decoder_fed(model):
            return graph_from_hooks(model, example, note)
    except Exception as exc:
        raise _run_failed(name, example, exc) from exc


def materialise(model: nn.Module, example: torch.Tensor | None) -> None:
    """Give a model's lazy layers (``nn.LazyLinear`` after a ``Flatten``, ...) their shapes by
    one forward pass of ``example`` before anything reads their parameters: in eval mode and
    without gradients, each module's train/eval flag restored after. Without an example, one
    line naming them and what to give."""
    from torch.nn.modules.lazy import LazyModuleMixin

    lazy = [f"{type(m).__name__} {name}".strip() for name, m in model.named_modules()
            if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()]
    if not lazy:
        return
    shown = ", ".join(lazy[:3]) + (f" and {len(lazy) - 3} more" if len(lazy) > 3 else "")
    if example is None:
        raise LintError(f"the model has lazy layers ({shown}) whose shapes come from its first"
                        " input; give --input-shape (e.g. 1,3,32,32) to run it once")
    flags = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad(), decoder_fed(model):
            model(example)
    except Exception as exc:
        raise LintError(f"cannot run the model once on a random input of shape"
                        f" {describe_shape(example)} to give its lazy layers ({shown}) their"
                        f" shapes: {short_reason(exc)}; check --input-shape (batch first, e.g."
                        " 1,3,32,32)") from exc
    finally:
        for module, training in flags.items():
            module.train(training)


def untraceable(model: nn.Module) -> bool:
    """A model torch.fx cannot trace, known without trying: Hugging Face transformers models
    (their forward passes branch on tensors and build masks from shapes)."""
    return type(model).__module__.startswith("transformers.")


def build_role_graph(
    model: nn.Module,
    *,
    example: torch.Tensor | None = None,
    mode: str = "auto",
    name: str = "the model",
) -> RoleGraph:
    """The role graph of ``model``. ``mode``: 'auto' (fx, then hooks), 'fx' or 'hooks'.

    The hooks mode runs the model once on ``example`` in eval mode; the graph's ``note`` says
    which mode was used and why.
    """
    if mode not in MODES:
        raise LintError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
    if is_script_module(model):  # neither traced nor hooked: its TorchScript graphs are read
        return graph_from_script(model)
    materialise(model, example)
    if mode == "hooks":
        if example is None:
            raise LintError("the hooks mode runs the model; give --input-shape, e.g. 1,3,224,224")
        return _hooks(model, example, name, "")
    if mode == "auto" and example is not None and untraceable(model):
        return _hooks(model, example, name, "torch.fx is not tried on Hugging Face models: their"
                      " forward passes do not trace")
    try:
        gm = trace_module(model)
    except Exception as exc:
        reason = short_reason(exc)
        if mode == "fx" or example is None:
            hint = "" if mode == "fx" else "; give --input-shape to lint it by running it once"
            raise LintError(f"cannot trace {name} with torch.fx ({reason}){hint}") from exc
        note = f"torch.fx could not trace it ({reason})"
        return _hooks(model, example, name, note)
    return graph_from_fx(gm)
