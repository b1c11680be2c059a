"""Load a model from a target string. Loading a target runs its code: import, then call.

path/to/file.py:factory     a file; ``factory`` is a callable returning an nn.Module, or one
package.module:factory      an importable module (the current folder is searched first)
torchvision:NAME            torchvision.models.get_model(NAME, weights=None), no download
timm:NAME                   timm.create_model(NAME, pretrained=False), no download
model.keras, model.onnx     (lint only) a saved Keras 3 or ONNX model; a factory may also return
                            a keras.Model or an onnx.ModelProto when ``foreign=True``

Any form takes keyword arguments for the factory after it, as in a Python call, with literal
values: ``timm:resnet18(in_chans=1, num_classes=10)``, ``models.py:make(width=32)``. The target
string carries them everywhere a target goes (compare, probe, lint, rewrite, fold, run keys).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from layerorder.errors import did_you_mean
from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.formats import format_of_file, format_of_object, lint_only
from layerorder.modelgraph.inputs import own_example
from layerorder.modelgraph.saved import is_saved_file, load_saved
from layerorder.targets import LOAD_TIMEOUT, TargetError, split_kwargs, split_target

ZOOS = {"torchvision": "torchvision", "timm": "timm"}


@dataclass(frozen=True)
class Target:
    spec: str
    model: Any  # an nn.Module; with foreign=True also a keras.Model or an onnx.ModelProto
    source_file: str | None = None  # the FILE.py (or model file) of a file target, as given
    example: Any = None  # the input the target names for its model (``example_input``), if any


def _require(package: str, spec: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise LintError(
            f"target '{spec}' needs {package}; pip install {package}"
            " (or pip install 'layerorder[zoo]')"
        ) from exc


def _zoo(zoo: str, name: str, spec: str, kwargs: dict[str, Any]) -> nn.Module:
    lib = _require(zoo, spec)
    if zoo == "torchvision":
        names = lib.models.list_models()

        def make():
            return lib.models.get_model(name, weights=None, **kwargs)
    else:
        names = lib.list_models()

        def make():
            return lib.create_model(name, pretrained=False, **kwargs)

    if name not in names:
        raise LintError(f"{zoo} has no model '{name}'" + did_you_mean(name, names))
    return _call(make, spec)


@contextmanager
def _cwd_on_path():
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _load_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise LintError(f"target file '{path}' does not exist")
    name = "layerorder_target_" + re.sub(r"\W", "_", path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise LintError(f"cannot import '{path}' as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so classes defined there can be pickled while it is loaded
    try:
        with _cwd_on_path():
            module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise LintError(f"importing '{path}' failed: {short_reason(exc)}") from exc
    return module


def _load_module(name: str) -> Any:
    try:
        with _cwd_on_path():
            return importlib.import_module(name)
    except (Exception, SystemExit) as exc:
        raise LintError(f"cannot import module '{name}': {short_reason(exc)}") from exc


def _attribute(module: Any, attr: str, where: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise LintError(f"'{where}' has no attribute '{attr}'" + did_you_mean(part, public))
        obj = getattr(obj, part)
    return obj


def _call(
    factory: Any, spec: str, kwargs: dict[str, Any] | None = None, foreign: bool = False
) -> Any:
    try:
        result = factory(**(kwargs or {}))
    except (Exception, SystemExit) as exc:
        raise LintError(f"calling the factory of '{spec}' failed: {short_reason(exc)}") from exc
    return _check_module(result, spec, "returned", foreign)


def _check_module(obj: Any, spec: str, verb: str, foreign: bool = False) -> Any:
    fmt = format_of_object(obj)
    if fmt is not None:
        if foreign:
            return obj
        raise LintError(lint_only(fmt, spec))
    if not isinstance(obj, nn.Module):
        raise LintError(
            f"target '{spec}' {verb} a {type(obj).__name__}, not a torch.nn.Module;"
            " point it at a module or a function that returns one"
        )
    return obj


class _LoadTimedOut(BaseException):
    """Raised by the timer while a target's code runs; a BaseException, so that the target's own
    ``except Exception`` (or the loader's) does not swallow it."""


class _TargetExited(BaseException):
    """Raised in place of ``os._exit`` called by a target's code while it loads."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def _guarded(spec: str, timeout: float | None):
    """While a target's code runs: ``os._exit`` in this process raises instead of ending it (it
    skips every handler, so a target calling it would end layerorder with code 0 and no output;
    forked children still exit), and in the main thread of a Unix process a timer interrupts code
    that never returns, once a second after ``timeout`` in case the target swallows the first.
    The previous ``os._exit``, SIGALRM handler and timer are restored afterwards."""
    real_exit, me = os._exit, os.getpid()

    def refuse_exit(code: int = 0) -> None:
        if os.getpid() != me:  # a child forked by the target (a DataLoader worker) exits
            real_exit(code)
        raise _TargetExited(code)

    timed = (
        timeout is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if timed:

        def on_alarm(signum, frame):
            raise _LoadTimedOut

        previous = signal.signal(signal.SIGALRM, on_alarm)
        outer = signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)  # (delay, interval) it had
        started = time.monotonic()
    os._exit = refuse_exit
    try:
        yield
    except _LoadTimedOut:
        raise LintError(
            f"loading '{spec}' took longer than {timeout:g} s (it may wait for input or never"
            " return); fix the target, or allow more time with --load-timeout"
        ) from None
    except _TargetExited as exc:
        raise LintError(
            f"'{spec}' called os._exit({exc.code}) while loading; a target must define or return"
            " a model, not end the process"
        ) from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if outer[0] > 0:  # a timer someone else had set keeps running, less the time spent
                left = max(outer[0] - (time.monotonic() - started), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, outer[1])
        os._exit = real_exit


def load_target(
    spec: str, *, timeout: float | None = LOAD_TIMEOUT, foreign: bool = False,
    trust_pickle: bool = False,
) -> Target:
    """Import or build the model a target string names (this runs the target's code, for at
    most ``timeout`` seconds when called from the main thread on Unix; None: no limit).

    ``foreign=True`` (lint) also accepts Keras and ONNX models: a saved file or a factory's
    result; otherwise they are refused with a one-line error. A saved PyTorch file (``.pt``,
    ``.pth``, ``.pt2``) is read by ``modelgraph.saved``: a pickled module only with
    ``trust_pickle``."""
    from layerorder.modelgraph.keras_graph import keras_backend

    with _guarded(spec, timeout), keras_backend() if foreign else contextlib.nullcontext():
        return _load(spec, foreign, trust_pickle)


def _load(spec: str, foreign: bool = False, trust_pickle: bool = False) -> Target:
    if is_saved_file(spec):
        model = load_saved(Path(spec), trust_pickle=trust_pickle)
        if isinstance(model, torch.jit.ScriptModule) and not foreign:
            raise LintError(f"'{spec}' is a TorchScript program: lint reads it, but this command"
                            " needs the Python module it was scripted from (FILE.py:FACTORY)")
        return Target(spec, model, spec)
    fmt = format_of_file(spec)
    if fmt is not None:
        if not foreign:
            raise LintError(lint_only(fmt, spec))
        if not Path(spec).is_file():
            raise LintError(f"{fmt.title} model file '{spec}' does not exist")
        return Target(spec, fmt.load_file(spec), spec)
    try:
        base, kwargs = split_kwargs(spec)
        where, attr = split_target(base)
    except TargetError as exc:
        raise LintError(str(exc)) from None
    if where in ZOOS:
        return Target(spec, _zoo(where, attr, spec, kwargs))
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _load_file(Path(where), spec)
    else:
        module = _load_module(where)
    obj = _attribute(module, attr, where)
    source = where if where.endswith(".py") else None
    model_object = isinstance(obj, nn.Module) or format_of_object(obj) is not None
    if model_object or not callable(obj):
        if kwargs:
            raise LintError(
                f"target '{spec}': '{attr}' is not a factory, so it takes no keyword arguments"
            )
        model = _check_module(obj, spec, "is", foreign)
        return Target(spec, model, source, own_example(model, spec))
    model = _call(obj, spec, kwargs, foreign)
    example = own_example(obj, spec)
    return Target(spec, model, source, own_example(model, spec) if example is None else example)


def load_callable(spec: str, what: str = "function") -> Any:
    """The callable a target string ``file.py:name`` or ``package.module:name`` names (a user's
    training function); importing it runs the file's code."""
    try:
        where, attr = split_target(spec)
    except TargetError as exc:
        raise LintError(str(exc)) from None
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _load_file(Path(where), spec)
    else:
        module = _load_module(where)
    obj = _attribute(module, attr, where)
    if not callable(obj):
        raise LintError(f"'{spec}' is a {type(obj).__name__}, not a {what}")
    return obj
