"""Experiment configuration: typed frozen dataclasses, parsed and validated once at the boundary.

Values come from defaults, then a TOML file, then command-line flags (later ones win). Every value
is checked here, before a store is opened or anything is trained.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError, did_you_mean

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
DEVICES = ("auto", "cpu", "cuda")
EXECUTORS = ("auto", "sequential", "process", "stacked", "ray")
DEFAULT_ORDERS = ("standard", "act-first", "preact", "drop-before-bn", "no-norm")

# fields that change how runs execute, not what they compute: not part of any run key
EXECUTION_FIELDS = frozenset(
    {
        "name",
        "device",
        "executor",
        "workers",
        "ray_address",
        "cpus_per_run",
        "gpus_per_run",
        "max_retries",
        "compile",
    }
)
# fields added after stores existed: left out of run keys while at their default, so the keys of
# runs stored before them do not change
OMIT_AT_DEFAULT = {"amp": False}


def _omit_defaults(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not (k in OMIT_AT_DEFAULT and v == OMIT_AT_DEFAULT[k])}


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: a grid of orders x seeds x learning rates, all else fixed."""

    name: str = "default"
    dataset: str = "mnist1d"
    data_options: tuple[tuple[str, Any], ...] = ()
    arch: str = "cnn1d"
    model: str | None = None  # a user's model (target string), rewritten to each order
    width: int | None = None
    depth: int | None = None
    orders: tuple[str, ...] = DEFAULT_ORDERS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 20
    batch_size: int = 100
    optimizer: str = "adam"
    lr: tuple[float, ...] = (0.01,)
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    momentum: float = 0.9
    label_smoothing: float = 0.0
    p_drop: float = 0.1
    probe: bool = False
    amp: bool = False  # bfloat16 autocast of forward and loss
    compile: bool = False  # torch.compile the model (execution only: same arithmetic)
    device: str = "auto"
    executor: str = "auto"
    workers: int | None = None
    ray_address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    max_retries: int = 2

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["data_options"] = dict(self.data_options)
        d["orders"], d["seeds"], d["lr"] = list(self.orders), list(self.seeds), list(self.lr)
        return d

    def identity(self) -> dict[str, Any]:
        """What defines the experiment's results (execution knobs left out)."""
        d = {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}
        return _omit_defaults(d)

    def runs(self) -> list[RunConfig]:
        """The grid, in the order it is trained: seed-major so early results pair up."""
        base = {k: v for k, v in self.identity().items() if k not in ("orders", "seeds", "lr")}
        return [
            RunConfig(order=o, seed=s, lr=lr, **base)
            for lr in self.lr
            for s in self.seeds
            for o in self.orders
        ]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's result; its hash is the run key."""

    order: str
    seed: int
    lr: float
    dataset: str = "mnist1d"
    data_options: dict = field(default_factory=dict)
    arch: str = "cnn1d"
    model: str | None = None
    width: int | None = None
    depth: int | None = None
    epochs: int = 20
    batch_size: int = 100
    optimizer: str = "adam"
    schedule: str = "onecycle"
    weight_decay: float = 0.0
    momentum: float = 0.9
    label_smoothing: float = 0.0
    p_drop: float = 0.1
    probe: bool = False  # record stage statistics, gradient flow and variance shift per epoch
    amp: bool = False  # bfloat16 autocast of forward and loss

    def to_dict(self) -> dict[str, Any]:
        return _omit_defaults(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        return cls(**d)


FIELDS = {f.name: f for f in dataclasses.fields(ExperimentConfig)}


def _int(key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{key} must be >= {minimum}, got {number}")
    return number


def _float(key: str, value: Any, lo: float, hi: float | None = None, *, open_lo=False) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    bad = not math.isfinite(number) or number < lo or (open_lo and number == lo)
    if bad or (hi is not None and number >= hi):
        rng = f"> {lo:g}" if open_lo else f">= {lo:g}"
        rng += f" and < {hi:g}" if hi is not None else ""
        raise ConfigError(f"{key} must be a number {rng}, got {value!r}")
    return number


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(f"unknown {key} '{value}'" + did_you_mean(text, choices))
    return text


def _list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [v for v in str(value).split(",") if v.strip() != ""]


def _seeds(value: Any) -> tuple[int, ...]:
    """An int n means seeds 0..n-1; a list (or "3,5,8") names the seeds."""
    if isinstance(value, int) or (isinstance(value, str) and "," not in value):
        return tuple(range(_int("seeds", value)))
    seeds = tuple(_int("seed", v, minimum=0) for v in _list(value))
    if not seeds:
        raise ConfigError("seeds must name at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must not repeat, got {list(seeds)}")
    return seeds


def _unique_nonempty(key: str, items: list) -> tuple:
    if not items:
        raise ConfigError(f"{key} must not be empty")
    if len(set(items)) != len(items):
        raise ConfigError(f"{key} must not repeat, got {items}")
    return tuple(items)


def _coerce(key: str, value: Any) -> Any:
    """Check one value and bring it to its field's type."""
    if key in ("name",):
        text = str(value).strip()
        if not text or len(text) > 200:
            raise ConfigError("name must be 1-200 characters")
        return text
    if key == "model":
        text = None if value is None else str(value).strip()
        if text is not None and ":" not in text:
            raise ConfigError(
                f"model '{value}' must look like path/to/file.py:factory or package.module:factory"
            )
        return text or None
    if key in ("dataset", "arch"):
        return str(value).strip().lower() if key == "arch" else str(value).strip()
    if key == "data_options":
        if not isinstance(value, dict):
            raise ConfigError("data_options must be a table of option = value")
        return tuple(sorted((str(k), v) for k, v in value.items()))
    if key in ("width", "depth", "workers"):
        return None if value is None else _int(key, value)
    if key in ("epochs", "batch_size"):
        return _int(key, value)
    if key == "seeds":
        return _seeds(value)
    if key == "orders":
        return _unique_nonempty("orders", [str(v).strip() for v in _list(value)])
    if key == "lr":
        return _unique_nonempty("lr", [_float("lr", v, 0.0, open_lo=True) for v in _list(value)])
    if key == "weight_decay":
        return _float(key, value, 0.0)
    if key in ("momentum", "label_smoothing", "p_drop"):
        return _float(key, value, 0.0, 1.0)
    choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "device": DEVICES}
    if key in choices:
        return _choice(key, value, choices[key])
    if key in ("probe", "amp", "compile"):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if key == "ray_address":
        return None if value is None else str(value).strip() or None
    if key in ("cpus_per_run", "gpus_per_run"):
        return _float(key, value, 0.0)
    if key == "max_retries":
        return _int(key, value, minimum=0)
    if key == "executor":
        return _choice(key, value, EXECUTORS)
    raise ConfigError(f"unknown setting '{key}'" + did_you_mean(key, FIELDS))


def make_config(values: dict[str, Any], *, source: str = "options") -> ExperimentConfig:
    """Build a checked config from a mapping; unknown keys are errors."""
    checked = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise ConfigError(f"unknown key '{key}' in {source}" + did_you_mean(key, FIELDS))
        checked[key] = _coerce(key, value)
    return ExperimentConfig(**checked)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read an experiment TOML file into a plain mapping (not yet checked)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file '{path}' does not exist; check the path given to --config")
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc}") from None
    return data


def merge_config(file_values: dict[str, Any], flag_values: dict[str, Any], source: str):
    """Defaults <- file <- flags (flags given as None are not set)."""
    for key in file_values:
        if key not in FIELDS:
            raise ConfigError(f"unknown key '{key}' in {source}" + did_you_mean(key, FIELDS))
    merged = dict(file_values)
    merged.update({k: v for k, v in flag_values.items() if v is not None})
    return make_config(merged, source=source)
