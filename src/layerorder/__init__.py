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

from layerorder.api import ProbeResults, compare, lint, probe  # noqa: E402
from layerorder.errors import ConfigError, LayerorderError  # noqa: E402
from layerorder.experiment.config import ExperimentConfig  # noqa: E402
from layerorder.experiment.settings import SETTINGS  # noqa: E402
from layerorder.results import Results  # noqa: E402

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
