"""Model target strings, torch-free: ``FILE.py:FACTORY``, ``MODULE:FACTORY``, ``torchvision:NAME``
or ``timm:NAME``, with keyword arguments for the factory in parentheses
(``timm:resnet18(in_chans=1, num_classes=10)``). Reading one is parsing only; loading the model
it names is ``layerorder.modelgraph.target.load_target``'s."""

from __future__ import annotations

import ast
from typing import Any

from layerorder.errors import LayerorderError

LOAD_TIMEOUT = 120.0  # seconds a target may take to import and build its model (--load-timeout)
FORMS = "FILE.py:FACTORY, MODULE:FACTORY, torchvision:NAME or timm:NAME"


class TargetError(LayerorderError, ValueError):
    """A target string that cannot be read."""


def split_kwargs(spec: str) -> tuple[str, dict[str, Any]]:
    """``TARGET(key=value, ...)`` -> (TARGET, {key: value}); literal values only."""
    text = str(spec).strip()
    head, paren, rest = text.partition("(")
    if not paren or ":" not in head:
        return text, {}
    if not rest.endswith(")"):
        raise TargetError(f"target '{spec}': keyword arguments go in one pair of parentheses at"
                        " the end, e.g. timm:resnet18(in_chans=1, num_classes=10)")
    try:
        call = ast.parse(f"f({rest}", mode="eval").body
        if not isinstance(call, ast.Call) or call.args:
            raise ValueError("give keyword arguments only (name=value)")
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        if len(kwargs) != len(call.keywords):
            raise ValueError("give keyword arguments only (name=value)")
    except (SyntaxError, ValueError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise TargetError(f"target '{spec}': cannot read its keyword arguments ({reason});"
                        " write them as in Python, with literal values:"
                        " timm:resnet18(in_chans=1, num_classes=10)") from None
    return head.strip(), kwargs


def split_target(spec: str) -> tuple[str, str]:
    """``WHERE:NAME`` -> (WHERE, NAME): a file or module and the attribute in it."""
    text = str(spec).strip()
    if ":" not in text:
        raise TargetError(f"target '{spec}' has no ':'; write it as {FORMS}")
    where, _, attr = text.rpartition(":")
    if not where or not attr:
        raise TargetError(f"target '{spec}' is incomplete; write it as {FORMS}")
    return where, attr
