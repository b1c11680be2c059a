"""How a user's run and the driver talk: the environment a run gets, and the metrics file it writes.

A run of ``--command`` is a process. The driver gives it its order, seed, learning rate, params,
device, primary metric and a fresh directory in its environment (``ENV``), and reads back the
metrics it appends, one JSON object per line, to the file ``$LAYERORDER_METRICS``:

    {"epoch": 1, "val_loss": 0.52, "val_accuracy": 0.81}     metrics after an epoch
    {"final": true, "val_accuracy": 0.86}                      the run's final metrics

``layerorder.trial()`` writes these lines for a Python script; a script in any other language
writes them itself. Without a final line, a run's final value of each metric is the last one it
reported. A value may be a number, ``NaN`` or ``Infinity`` (a diverged run) or null (not
measured). Anything else on a line, or a line that is not a JSON object, fails the run with the
line's number: a metric the driver misreads would be worse than none.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the environment of a run of --command (and what layerorder.trial() reads)
ORDER, SEED, LR = "LAYERORDER_ORDER", "LAYERORDER_SEED", "LAYERORDER_LR"
EPOCHS = "LAYERORDER_EPOCHS"  # the grid's epochs (a search's rounds train fewer)
PARAMS, DEVICE = "LAYERORDER_PARAMS", "LAYERORDER_DEVICE"  # params: a JSON object
RUN_DIR, METRICS, METRIC = "LAYERORDER_RUN_DIR", "LAYERORDER_METRICS", "LAYERORDER_METRIC"
ENV = (ORDER, SEED, LR, EPOCHS, PARAMS, DEVICE, RUN_DIR, METRICS, METRIC)

HEAD_KEYS = ("epoch", "final")  # a line's own keys: no metric may take these names
MAX_LINES = 1_000_000  # a run that writes more has a bug; reading stops there with an error


class MetricsError(ValueError):
    """A metrics file the driver cannot read as the protocol says."""


@dataclass
class Reported:
    """What a run reported: metrics per epoch, and its final metrics (given, or each metric's
    last value)."""

    epochs: dict[int, dict[str, float]] = field(default_factory=dict)
    final: dict[str, float] | None = None
    lines: int = 0  # lines of the metrics file read so far

    def add(self, epoch: int | None, metrics: dict[str, Any], final: bool = False) -> None:
        checked = {str(k): number(k, v) for k, v in metrics.items() if v is not None}
        if final:
            self.final = {**(self.final or {}), **checked}
        else:
            self.epochs.setdefault(int(epoch), {}).update(checked)

    def final_metrics(self) -> dict[str, float]:
        last: dict[str, float] = {}
        for epoch in sorted(self.epochs):
            last.update(self.epochs[epoch])
        return {**last, **(self.final or {})}


def number(name: Any, value: Any) -> float:
    """A metric's value as a float: a real number (Python's, or numpy's ``float32`` and kin) or a
    one-element tensor or array (a loss tensor, a torchmetrics result), converted here as the
    user would with ``.item()``; a bool, text, a complex number or a tensor of several elements
    is refused with the metric's name."""
    real = value
    if not isinstance(value, numbers.Number) and callable(getattr(value, "item", None)):
        try:
            real = value.item()  # a one-element tensor or array, read as the user would read it
        except (TypeError, ValueError, RuntimeError):
            real = None  # several elements
    if isinstance(real, numbers.Real) and not isinstance(real, bool):
        return float(real)
    raise MetricsError(f"metric '{name}' must be a number, got {value!r}")


def is_number(value: Any) -> bool:
    """Whether ``number`` reads ``value`` as a metric's value."""
    try:
        number("", value)
    except MetricsError:
        return False
    return True


def check_names(names: Collection[str] | None) -> frozenset[str] | None:
    """The metric names a framework callback reports (None: all); the file's own keys
    refused when the callback is made, before any training."""
    if names is None:
        return None
    taken = sorted(set(names) & set(HEAD_KEYS))
    if taken:
        raise MetricsError(f"a metric may not be named {' or '.join(map(repr, taken))}: the"
                           " metrics file uses the name itself; rename the metric")
    return frozenset(names)


def chosen_metrics(logged: Mapping[str, Any], names: frozenset[str] | None) -> dict[str, Any]:
    """What a framework callback reports of what its framework logged: the ``names`` asked for
    (refused by ``Trial.report`` if one is no number), or else every value that is a single
    number, less the metrics file's own keys (Keras and the Trainer log an ``epoch``)."""
    if names is not None:
        return {k: v for k, v in logged.items() if k in names}
    return {k: v for k, v in logged.items() if k not in HEAD_KEYS and is_number(v)}


def is_epoch(value: Any) -> bool:
    """An epoch is a whole number >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def line_of(epoch: int | None, metrics: dict[str, Any], final: bool = False) -> str:
    """One line of the metrics file (NaN and infinities as JSON's common extension)."""
    head: dict[str, Any] = {HEAD_KEYS[1]: True} if final else {HEAD_KEYS[0]: int(epoch)}
    return json.dumps({**head, **metrics}, allow_nan=True) + "\n"


def parse_line(reported: Reported, text: str, where: str) -> None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetricsError(f"{where} is not JSON ({exc.msg}): {text[:80]!r}") from None
    if not isinstance(obj, dict):
        raise MetricsError(f"{where} is not a JSON object: {text[:80]!r}")
    final = obj.pop("final", False) is True
    epoch = obj.pop("epoch", None)
    if not final and not is_epoch(epoch):
        raise MetricsError(f"{where} needs \"epoch\": a whole number >= 0, or \"final\": true;"
                           f" got {text[:80]!r}")
    try:
        reported.add(epoch, obj, final)
    except MetricsError as exc:
        raise MetricsError(f"{where}: {exc}") from None


def read_metrics(path: Path, reported: Reported | None = None, start: int = 0, *,
                 ended: bool = False) -> tuple[Reported, int]:
    """Parse the metrics file from byte ``start`` on; returns what it reported and the offset
    read up to. While the run writes, only complete lines are read (a line still being written
    is read next time); once it has ``ended``, a last line without a newline is read too."""
    reported = reported or Reported()
    if not path.exists():
        return reported, start
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read()
    end = len(data) if ended else data.rfind(b"\n") + 1
    for text in data[:end].decode("utf-8", errors="replace").splitlines():
        reported.lines += 1
        if reported.lines > MAX_LINES:
            raise MetricsError(f"the metrics file has more than {MAX_LINES:,} lines")
        if text.strip():
            parse_line(reported, text, f"line {reported.lines} of the metrics file")
    return reported, start + end


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
