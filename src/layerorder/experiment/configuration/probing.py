"""The settings of ``probe``: one seed per order, and where its defaults differ from
``compare``'s (declared here, torch-free, so that ``layerorder probe --help`` shows them at once).
"""

from __future__ import annotations

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.settings import OWN, RUN, Setting

# where ``probe`` differs from ``compare``'s defaults: two orders, a short training
PROBE_DEFAULTS = {"orders": ("standard", "act-first"), "epochs": 5}


def probe_settings(given: dict) -> dict:
    """``probe``'s settings: its defaults, then those given; one seed (the ``seed`` argument)."""
    given = {k: v for k, v in given.items() if v is not None}
    if "seeds" in given:
        raise ConfigError("probe trains one seed per order: give seed=N (--seed N), not seeds")
    return {**PROBE_DEFAULTS, **given, "seeds": 1}


def probe_takes(s: Setting) -> bool:
    """The settings ``probe`` takes: one training per order, so a run's own settings (not the
    probe flag, which it always sets, nor a user's own run's), the orders, one lr, the device."""
    return (s.role == RUN and s.name != "probe" and s.meta.runs != OWN) or s.name in (
        "orders", "lr", "device")
