"""The type stub of the package's root, ``layerorder/__init__.pyi``: the names ``import layerorder``
gives (imported on first use, which an editor cannot follow), and the entry points with every
setting as a keyword, from the settings' declaration (``experiment.configuration.signatures``).
``tests/test_stubs.py`` checks that the file is current; rewrite it with

    python -m layerorder.stubs
"""

from __future__ import annotations

from pathlib import Path

from layerorder import api
from layerorder.experiment.configuration.signatures import stub

STUB = Path(__file__).with_name("__init__.pyi")

HEADER = '''"""Written by ``python -m layerorder.stubs`` from the settings' declaration."""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from layerorder import lint as lint
from layerorder import probe as probe
from layerorder import search as search
from layerorder import studies as studies
from layerorder.api import ProbeResults as ProbeResults
from layerorder.api import copy_store as copy_store
from layerorder.api import run_worker as run_worker
from layerorder.errors import ConfigError as ConfigError
from layerorder.errors import LayerorderError as LayerorderError
from layerorder.experiment.configuration.config import ExperimentConfig as ExperimentConfig
from layerorder.experiment.configuration.settings import SETTINGS as SETTINGS
from layerorder.experiment.execution.comparison import StoredGrid
from layerorder.experiment.execution.runner import GridPlan
from layerorder.lint import LintReport
from layerorder.results import Results as Results
from layerorder.search import SearchResult
from layerorder.search.setup import SearchSetup
from layerorder.trials import Trial as Trial
from layerorder.trials import trial as trial
from layerorder.version import __version__ as __version__
'''

# each entry point with full signature: (name, function, what it returns)
ENTRY_POINTS = (
    ("compare", api.compare, "Results"),
    ("compare_plan", api.compare_plan, "GridPlan"),
    ("store_grid", api.store_grid, "StoredGrid"),
    ("probe_orders", api.probe_orders, "ProbeResults"),
    ("search_orders", api.search_orders, "SearchResult"),
    ("search_plan", api.search_plan, "SearchSetup"),
    ("lint_model", api.lint_model, "LintReport"),
)


def stub_text() -> str:
    return stub(ENTRY_POINTS, HEADER)


if __name__ == "__main__":
    STUB.write_text(stub_text())
