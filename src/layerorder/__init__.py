"""layerorder: measure where BatchNorm, the activation and Dropout belong.

From Python::

    import layerorder
    results = layerorder.compare(orders=["standard", "preact"], seeds=3, epochs=5)
    results.summary, results.verdict.text, results.to_pandas(), results.plot()

``layerorder.probe_orders(...)``, ``layerorder.search_orders(...)`` (``search_plan``: what it
would do) and ``layerorder.lint_model(model, input_shape)`` are the other entry points
(``layerorder.probe``, ``layerorder.lint`` and ``layerorder.search`` are subpackages; calling
the first two still works for one release, with a deprecation warning); ``layerorder.studies``
runs and evaluates the built-in studies of the debate's claims. Names are imported on first use,
so ``import layerorder`` stays light.
"""

import importlib as _importlib
import random as _random

from layerorder.lazy import lazy_names
from layerorder.version import __version__ as __version__

# rich (the terminal displays, imported deep inside commands when they first print) draws 24 bits
# from Python's global random generator the first time its style module is imported
# (rich/style.py: ``count(getrandbits(24))``), which would move a notebook user's seeded
# ``random`` stream; it is imported here once (about 20 ms) with that state put back (a thread
# drawing from ``random`` during the import would be rewound with it).
_state = _random.getstate()
try:
    _importlib.import_module("rich.style")
except ImportError:  # a broken install: the command that needs rich says so
    pass
finally:
    _random.setstate(_state)
del _state

# public name -> module that defines it (subpackages: the package itself)
_LAZY = {
    "compare": "layerorder.api",
    "probe_orders": "layerorder.api",
    "lint_model": "layerorder.api",
    "compare_plan": "layerorder.api",
    "store_grid": "layerorder.api",
    "run_worker": "layerorder.api",
    "copy_store": "layerorder.api",
    "search_orders": "layerorder.api",
    "search_plan": "layerorder.api",
    "ProbeResults": "layerorder.api",
    "trial": "layerorder.trials",
    "Trial": "layerorder.trials",
    "Results": "layerorder.results",
    "SETTINGS": "layerorder.experiment.configuration.settings",
    "ExperimentConfig": "layerorder.experiment.configuration.config",
    "ConfigError": "layerorder.errors",
    "LayerorderError": "layerorder.errors",
    "probe": None,
    "lint": None,
    "studies": None,
    "search": None,
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
