"""Rich consoles: results on stdout, progress and notes on stderr."""

from __future__ import annotations

import json
import math
from typing import Any

from layerorder.experiment.execution.progress import terminal_console

out = terminal_console()
err = terminal_console(stderr=True)


def clean_text(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_text(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Strict JSON on stdout (NaN becomes null)."""
    print(json.dumps(clean_text(data), indent=2, sort_keys=False))
