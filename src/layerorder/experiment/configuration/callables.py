"""Callables a config names: a user's model factory given as a function (``model=make_model``) or
a training function (``train=train``), registered under a target string
``python:<qualname>@<fingerprint>`` that run keys, the store and workers use. Registration is per
process; ``execution.shipping`` sends the registered callables to spawned workers."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable

import torch
from torch import nn

from layerorder.data.memory import tensor_bytes
from layerorder.errors import ConfigError

PREFIX = "python:"
_REGISTERED: dict[str, Callable] = {}


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
        torch.default_generator.manual_seed(0)  # built on the CPU: no GPU's generator touched
        model = build_factory(factory, "model=")
    digest = hashlib.sha256(code_of(factory).encode() + repr(model).encode())
    for tensor in model.state_dict().values():
        digest.update(tensor_bytes(tensor))
    return _register(factory, digest.hexdigest())


def register_train(fn: Callable) -> str:
    """Register a training function ``train(trial)``; returns the target that names it in a
    config, ``python:<qualname>@<fingerprint>``, the fingerprint taken over its source (an edit
    gives new run keys; the same function resumes its stored runs)."""
    if not callable(fn) or isinstance(fn, nn.Module):
        raise ConfigError(f"train= takes a function train(trial), got {type(fn).__name__}")
    return _register(fn, hashlib.sha256(code_of(fn).encode()).hexdigest())


def _register(fn: Callable, fingerprint: str) -> str:
    name = getattr(fn, "__qualname__", type(fn).__name__)
    name = name.replace("<", "").replace(">", "")
    target = f"{PREFIX}{name}@{fingerprint[:10]}"
    _REGISTERED[target] = fn
    return target


def code_of(fn: Callable) -> str:
    """The callable's source where Python has it, else its compiled code (``python -c``)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        return repr((code.co_code, code.co_consts, code.co_names)) if code else repr(fn)


def build_factory(factory: Callable[[], nn.Module], where: str) -> nn.Module:
    try:
        model = factory()
    except Exception as exc:  # the user's code
        raise ConfigError(f"{where} factory raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{where} factory must return an nn.Module, got {type(model).__name__}")
    return model


def registered(target: str, what: str = "model") -> Callable | None:
    """The callable registered as ``target`` in this process, or None when it names none."""
    fn = _REGISTERED.get(target)
    if fn is None and target.startswith(PREFIX):
        raise ConfigError(
            f"{what} '{target}' was given as a callable in another process; pass {what}= again"
        )
    return fn


def factory_model(target: str) -> nn.Module | None:
    """The model a registered factory builds now, or None when ``target`` names no factory."""
    factory = registered(target)
    return None if factory is None else build_factory(factory, f"model '{target}'")


def shippable(*targets: str | None) -> dict[str, Callable]:
    """The registered callables among ``targets``, to send to another process."""
    return {t: _REGISTERED[t] for t in targets if t in _REGISTERED}


def add_registered(callables: dict[str, Callable]) -> None:
    """Register in this process what another process registered (``shipping.install``)."""
    _REGISTERED.update(callables)
