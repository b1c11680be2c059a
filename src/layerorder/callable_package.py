"""``layerorder.probe`` and ``layerorder.lint`` are subpackages and also the API functions of
the same names: calling the package calls ``layerorder.api.<name>``, its modules stay
importable (``from layerorder.probe import record`` keeps working)."""

from __future__ import annotations

import sys
import types


class CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from layerorder import api

        return getattr(api, self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


def make_callable(name: str) -> None:
    """Make the package ``name`` (``layerorder.probe``) callable; call from its ``__init__``."""
    from layerorder import api

    module = sys.modules[name]
    module.__class__ = CallablePackage
    function = getattr(api, name.rsplit(".", 1)[1])
    module.__doc__ = f"{module.__doc__}\n\nCalled as a function: {function.__doc__}"
