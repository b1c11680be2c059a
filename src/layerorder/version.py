"""The installed version of layerorder (``layerorder.__version__``), in the bottom layer so that
provenance, reports and SARIF output can name it without importing the package's top."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layerorder")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
