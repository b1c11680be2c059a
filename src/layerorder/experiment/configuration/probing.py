"""The settings of ``probe``: one seed per order, and where its defaults differ from
``compare``'s (declared here, torch-free, so that ``layerorder probe --help`` shows them at once).
"""

from __future__ import annotations

from layerorder.errors import ConfigError

# where ``probe`` differs from ``compare``'s defaults: two orders, a short training
PROBE_DEFAULTS = {"orders": ("standard", "act-first"), "epochs": 5}


def probe_settings(given: dict) -> dict:
    """``probe``'s settings: its defaults, then those given; one seed (the ``seed`` argument)."""
    given = {k: v for k, v in given.items() if v is not None}
    if "seeds" in given:
        raise ConfigError("probe trains one seed per order: give seed=N (--seed N), not seeds")
    return {**PROBE_DEFAULTS, **given, "seeds": 1}
