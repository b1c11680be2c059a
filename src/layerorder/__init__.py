"""layerorder: measure where BatchNorm, the activation and Dropout belong.

From Python::

    import layerorder
    results = layerorder.compare(orders=["standard", "preact"], seeds=3, epochs=5)
    results.summary, results.verdict.text, results.to_pandas(), results.plot()
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layerorder")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

import types  # noqa: E402

from layerorder.api import ProbeResults, compare  # noqa: E402
from layerorder.errors import ConfigError, LayerorderError  # noqa: E402
from layerorder.experiment.config import ExperimentConfig  # noqa: E402
from layerorder.experiment.settings import SETTINGS  # noqa: E402
from layerorder.results import Results  # noqa: E402


class _CallablePackage(types.ModuleType):
    """``layerorder.probe`` and ``layerorder.lint`` are subpackages and also the API functions
    of the same names: calling the package calls the function, its modules stay importable."""

    def __call__(self, *args, **kwargs):
        return getattr(api, self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


from layerorder import api, lint, probe  # noqa: E402

for _package in (lint, probe):
    _package.__class__ = _CallablePackage
    called = getattr(api, _package.__name__.rsplit(".", 1)[1])
    _package.__doc__ = f"{_package.__doc__}\n\nCalled as a function: {called.__doc__}"

__all__ = [
    "SETTINGS",
    "ConfigError",
    "ExperimentConfig",
    "LayerorderError",
    "ProbeResults",
    "Results",
    "__version__",
    "compare",
    "lint",
    "probe",
]
