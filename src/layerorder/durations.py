"""Times as a user writes them on the command line: ``900s``, ``45m``, ``2h``, or a bare number
(whose meaning the caller gives: seconds for ``--idle-exit``, full runs for ``--budget``)."""

from __future__ import annotations

import re

from layerorder.errors import ConfigError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_AMOUNT = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*")


def split_amount(text: str | float) -> tuple[float, str] | None:
    """``"45m"`` -> ``(45.0, "m")``, ``"30"`` -> ``(30.0, "")``; None when it is neither."""
    match = _AMOUNT.fullmatch(str(text))
    return None if match is None else (float(match.group(1)), match.group(2))


def seconds(text: str | float, flag: str) -> float:
    """``60``, ``60s``, ``5m`` or ``1h`` as seconds; a ``ConfigError`` naming ``flag`` else."""
    amount = split_amount(text)
    if amount is None:
        raise ConfigError(f"{flag} '{text}' is not a time; give seconds (60, 60s) or 5m, 1h")
    value, unit = amount
    return value * UNITS.get(unit, 1.0)
