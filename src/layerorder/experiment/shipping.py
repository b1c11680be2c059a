"""What spawned workers cannot import, shipped to them: data sets registered at run time (from a
notebook or a ``python -c`` script) and model factories given as callables.

A worker of the process pool or of Ray starts a fresh interpreter: it imports layerorder, but not
the user's ``__main__``, so a registration made there is unknown to it. The driver takes a
``snapshot()`` of those objects (serialised with cloudpickle, which pickles functions defined in
``__main__`` or a notebook by value) and every worker ``install``s it before its first run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import cloudpickle
from torch import nn

from layerorder.errors import ConfigError

FACTORY_PREFIX = "python:"
_FACTORIES: dict[str, Callable[[], nn.Module]] = {}


def register_model_factory(factory: Callable[[], nn.Module]) -> str:
    """Register a callable that returns an ``nn.Module``; returns the model target that names it
    in a config (``python:<qualname>@<fingerprint of the built model's structure>``, so a changed
    factory gets new run keys)."""
    if not callable(factory) or isinstance(factory, nn.Module):
        raise ConfigError(
            f"model= takes a callable returning an nn.Module (e.g. a function or a class),"
            f" got {type(factory).__name__}; wrap a built model as lambda: model"
        )
    model = build_factory(factory, "model=")
    name = getattr(factory, "__qualname__", type(factory).__name__).replace("<", "").replace(
        ">", ""
    )
    digest = hashlib.sha256(repr(model).encode()).hexdigest()[:10]
    target = f"{FACTORY_PREFIX}{name}@{digest}"
    _FACTORIES[target] = factory
    return target


def build_factory(factory: Callable[[], nn.Module], where: str) -> nn.Module:
    try:
        model = factory()
    except Exception as exc:  # the user's code
        raise ConfigError(f"{where} factory raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{where} factory must return an nn.Module, got {type(model).__name__}")
    return model


def factory_model(target: str) -> nn.Module | None:
    """The model a registered factory builds now, or None when ``target`` names no factory."""
    factory = _FACTORIES.get(target)
    if factory is None:
        if target.startswith(FACTORY_PREFIX):
            raise ConfigError(
                f"model '{target}' was given as a callable in another process; pass model= again"
            )
        return None
    return build_factory(factory, f"model '{target}'")


def snapshot(dataset: str, model: str | None) -> bytes | None:
    """What a worker needs for runs of ``dataset`` and ``model`` and cannot import: the data
    set when it was registered at run time, the model when it is a factory. None when nothing."""
    from layerorder.data.registry import user_entries

    entries = [e for e in user_entries() if dataset.lower().startswith(e.key)]
    factories = {model: _FACTORIES[model]} if model in _FACTORIES else {}
    if not entries and not factories:
        return None
    return cloudpickle.dumps({"datasets": entries, "factories": factories})


def install(blob: bytes | None) -> None:
    """Register in this process what ``snapshot`` took in the driver's."""
    if not blob:
        return
    from layerorder.data.registry import register_dataset

    shipped = cloudpickle.loads(blob)
    for entry in shipped["datasets"]:
        register_dataset(entry, replace=True)
    _FACTORIES.update(shipped["factories"])
