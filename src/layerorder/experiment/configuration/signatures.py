"""The Python API's signatures, derived from the settings' declaration (``settings``):
``layerorder.compare``, ``probe_orders``,
``search_orders`` and the plans take every setting as a keyword, and ``inspect.signature`` and
``help()`` list each with its type and default; the stub ``layerorder/__init__.pyi`` (written by
``python -m layerorder.stubs``, checked by a test) gives editors the same.

A setting's Python type is what a caller may pass, which is looser than what is stored: a list
or one value where a tuple is kept (``orders="preact"``, ``seeds=5``), a mapping for a table
(``data_options={"num_samples": 500}``).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Iterable
from typing import Any

from layerorder.experiment.configuration.settings import SETTINGS, Setting

# a declared type -> what a caller may pass for it
_PASSED = {
    "tuple[float, ...]": "float | Sequence[float]",
    "tuple[int, ...]": "int | Sequence[int]",
    "tuple[str, ...]": "str | Sequence[str]",
    "tuple[tuple[str, Any], ...]": "Mapping[str, Any] | Sequence[str]",
    "tuple[tuple[str, tuple[Any, ...]], ...]": "Mapping[str, Sequence[Any]] | Sequence[str]",
}

def every_setting(s: Setting) -> bool:
    """``compare`` takes every setting."""
    return True


def passed_type(s: Setting) -> str:
    """The type a caller passes for ``s``, as text."""
    return _PASSED.get(s.annotation, s.annotation)


Takes = Callable[[Setting], bool]  # which settings an entry point takes (declared by its owner)


def _parameters(takes: Takes, defaults: dict[str, Any]) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY,
                          default=defaults.get(s.name, s.default), annotation=passed_type(s))
        for s in SETTINGS if takes(s)
    ]


def settings_doc(takes: Takes, defaults: dict[str, Any] | None = None) -> str:
    """The docstring section listing the settings ``takes`` keeps: name, type, default and
    meaning."""
    defaults = defaults or {}
    lines = ["Settings (keywords; the flags of the command line, by their declared names):", ""]
    for s in filter(takes, SETTINGS):
        default = repr(defaults.get(s.name, s.default))
        head = f"{s.name}: {passed_type(s)} = {default}"
        body = textwrap.fill(s.help, width=88, initial_indent="    ", subsequent_indent="    ")
        lines += [head, body]
    return "\n".join(lines)


def with_settings(takes: Takes, defaults: dict[str, Any] | None = None,
                  like: Callable | None = None) -> Callable:
    """Give a function taking ``**settings`` the signature and docstring of the settings
    ``takes`` keeps:
    its own parameters first (then those of ``like``, a function it hands its keywords to), then
    one keyword-only parameter per setting with its declared default (or the entry's own, from
    ``defaults``). The function itself still receives the settings given as ``**settings``
    (defaults are applied by the config, not here)."""
    own = defaults or {}

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
        if like is not None:
            params += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                       for p in inspect.signature(like).parameters.values()
                       if p.kind != inspect.Parameter.VAR_KEYWORD
                       and p.name not in {q.name for q in params}]
        taken = {p.name for p in params}
        extra = [p for p in _parameters(takes, own) if p.name not in taken]
        func.__signature__ = sig.replace(parameters=[*params, *extra])
        func.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\n{settings_doc(takes, own)}"
        return func

    return decorate


def stub(functions: Iterable[tuple[str, Callable, str]], header: str) -> str:
    """A ``.pyi`` text declaring each (name, function, return type) with its full signature."""
    out = []
    for name, func, returns in functions:
        sig = inspect.signature(func)
        params = []
        star = False
        for p in sig.parameters.values():
            if p.kind == inspect.Parameter.KEYWORD_ONLY and not star:
                params.append("*")
            star = star or p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                      inspect.Parameter.VAR_POSITIONAL)
            text = {inspect.Parameter.VAR_POSITIONAL: "*",
                    inspect.Parameter.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
            if p.annotation is not inspect.Parameter.empty:
                text += f": {p.annotation}"
            if p.default is not inspect.Parameter.empty:
                text += " = ..." if p.annotation is not inspect.Parameter.empty else "=..."
            params.append(text)
        joined = ",\n    ".join(params)
        out.append(f"def {name}(\n    {joined},\n) -> {returns}: ...\n")
    return header.rstrip("\n") + "\n\n" + "\n".join(out)  # a stub's spacing (ruff's)
