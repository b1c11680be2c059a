"""``layerorder.probe`` and ``layerorder.lint`` are subpackages; before 0.2 calling them ran
``layerorder.probe_orders`` and ``layerorder.lint_model``. Calling the package still does that
for one release, with a ``DeprecationWarning``. Nothing here is imported until a package is
called: importing ``layerorder.probe`` loads the probes alone.
"""

from __future__ import annotations

import sys
import types
import warnings

# the package's last name -> the function that calling it runs (in ``layerorder.api``)
RENAMED = {"probe": "probe_orders", "lint": "lint_model"}


class CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        short = self.__name__.rsplit(".", 1)[1]
        warnings.warn(
            f"calling layerorder.{short}(...) is deprecated and will stop working in the next"
            f" release; call layerorder.{RENAMED[short]}(...) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        # the public name, resolved by the root package on first use: this file imports none of
        # the layers above the package it serves
        return getattr(sys.modules["layerorder"], RENAMED[short])(*args, **kwargs)


def make_callable(name: str) -> None:
    """Keep the package ``name`` (``layerorder.probe``) callable for one release; call from its
    ``__init__``."""
    module = sys.modules[name]
    module.__class__ = CallablePackage
