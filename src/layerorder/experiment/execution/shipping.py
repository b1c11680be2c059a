"""What spawned workers cannot import, shipped to them: data sets registered at run time (from a
notebook or a ``python -c`` script) and model factories given as callables.

A worker of the process pool or of Ray starts a fresh interpreter: it imports layerorder, but not
the user's ``__main__``, so a registration made there is unknown to it. The driver takes a
``snapshot()`` of those objects (serialised with cloudpickle, which pickles functions defined in
``__main__`` or a notebook by value) and every worker ``install``s it before its first run.
"""

from __future__ import annotations

import hashlib
import sys
import sysconfig
from pathlib import Path

import cloudpickle

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.callables import add_registered, shippable


def snapshot(dataset: str | None, *targets: str | None) -> bytes | None:
    """What a worker needs for runs of ``dataset`` and ``targets`` (a model, a train function)
    and cannot import: the data set when it was registered at run time, the callables given in
    Python (None: nothing). ``dataset`` None leaves data out (Ray sends the loaded data itself;
    a user's own run has its own)."""
    from layerorder.data.registry import entry_for, is_user_entry

    entries = []
    if dataset is not None and is_user_entry(entry := entry_for(dataset)):
        entries.append(entry)
    factories = shippable(*targets)
    if not entries and not factories:
        return None
    own = [m for m in _own_modules(factories.values())
           if m.__name__ not in cloudpickle.list_registry_pickle_by_value()]
    try:
        for module in own:
            cloudpickle.register_pickle_by_value(module)
        return cloudpickle.dumps({"datasets": entries, "factories": factories})
    except Exception as exc:  # a closure over a lock, a file, a connection...
        raise ConfigError(
            f"the data set or model cannot be sent to worker processes ({type(exc).__name__}:"
            f" {exc}); use executor='sequential'"
        ) from None
    finally:  # cloudpickle's registry as the caller had it
        for module in own:
            cloudpickle.unregister_pickle_by_value(module)


def _own_modules(objects) -> list:
    """The modules of the user's own code among ``objects``' (a script's module imported by the
    driver, not an installed package): a worker, another interpreter on maybe another host,
    could not import them by name, so their functions are sent by value."""
    out = []
    for obj in objects:
        module = sys.modules.get(getattr(obj, "__module__", None) or "")
        path = getattr(module, "__file__", None)
        if module is None or path is None or module.__name__ in ("__main__", "builtins"):
            continue
        if module.__name__.split(".")[0] == "layerorder" or _installed(path):
            continue
        if module not in out:
            out.append(module)
    return out


def _installed(path: str) -> bool:
    """Whether a module's file is part of Python or of an installed package."""
    resolved = str(Path(path).resolve())
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(resolved.startswith(str(Path(r).resolve())) for r in roots) or (
        "site-packages" in resolved or "dist-packages" in resolved)


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
    add_registered(shipped["factories"])
