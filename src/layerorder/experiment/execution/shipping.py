"""What spawned workers cannot import, shipped to them: data sets registered at run time (from a
notebook or a ``python -c`` script) and model factories given as callables.

A worker of the process pool or of Ray starts a fresh interpreter: it imports layerorder, but not
the user's ``__main__``, so a registration made there is unknown to it. The driver takes a
``snapshot()`` of those objects (serialised with cloudpickle, which pickles functions defined in
``__main__`` or a notebook by value) and every worker ``install``s it before its first run.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable

import cloudpickle
import torch
from torch import nn

from layerorder.data.memory import tensor_bytes
from layerorder.errors import ConfigError

FACTORY_PREFIX = "python:"
_FACTORIES: dict[str, Callable[[], nn.Module]] = {}


def register_model_factory(factory: Callable[[], nn.Module]) -> str:
    """Register a callable that returns an ``nn.Module``; returns the model target that names it
    in a config: ``python:<qualname>@<fingerprint>``, the fingerprint taken over the factory's
    code, the built model's structure and its initial weights under a fixed seed, so a changed
    factory gets new run keys (and the same factory resumes its stored runs)."""
    if not callable(factory) or isinstance(factory, nn.Module):
        raise ConfigError(
            f"model= takes a callable returning an nn.Module (e.g. a function or a class),"
            f" got {type(factory).__name__}; wrap a built model as lambda: model"
        )
    with torch.random.fork_rng(devices=[]):  # the caller's random state is left as it was
        torch.manual_seed(0)
        model = build_factory(factory, "model=")
    digest = hashlib.sha256(_code_of(factory).encode() + repr(model).encode())
    for tensor in model.state_dict().values():
        digest.update(tensor_bytes(tensor))
    name = getattr(factory, "__qualname__", type(factory).__name__)
    name = name.replace("<", "").replace(">", "")
    target = f"{FACTORY_PREFIX}{name}@{digest.hexdigest()[:10]}"
    _FACTORIES[target] = factory
    return target


def _code_of(factory: Callable) -> str:
    """The factory's source where Python has it, else its compiled code (``python -c``)."""
    try:
        return inspect.getsource(factory)
    except (OSError, TypeError):
        code = getattr(factory, "__code__", None)
        return repr((code.co_code, code.co_consts, code.co_names)) if code else repr(factory)


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


def snapshot(dataset: str | None, model: str | None) -> bytes | None:
    """What a worker needs for runs of ``dataset`` and ``model`` and cannot import: the data
    set when it was registered at run time, the model when it is a factory (None: nothing).
    ``dataset`` None leaves data out (Ray sends the loaded data itself)."""
    from layerorder.data.registry import entry_for, is_user_entry

    entries = []
    if dataset is not None and is_user_entry(entry := entry_for(dataset)):
        entries.append(entry)
    factories = {model: _FACTORIES[model]} if model in _FACTORIES else {}
    if not entries and not factories:
        return None
    try:
        return cloudpickle.dumps({"datasets": entries, "factories": factories})
    except Exception as exc:  # a closure over a lock, a file, a connection...
        raise ConfigError(
            f"the data set or model cannot be sent to worker processes ({type(exc).__name__}:"
            f" {exc}); use executor='sequential'"
        ) from None


_INSTALLED: set[str] = set()


def install(blob: bytes | None) -> None:
    """Register in this process what ``snapshot`` took in the driver's (once per blob)."""
    if not blob:
        return
    key = hashlib.sha256(blob).hexdigest()
    if key in _INSTALLED:
        return
    from layerorder.data.registry import register_dataset

    shipped = cloudpickle.loads(blob)
    _INSTALLED.add(key)
    for entry in shipped["datasets"]:
        register_dataset(entry, replace=True)
    _FACTORIES.update(shipped["factories"])
