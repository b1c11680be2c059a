"""Experiment configuration: one typed frozen dataclass made of the settings' parts, parsed and
validated once at the boundary.

``ExperimentConfig`` is ``RunSettings`` + ``Grid`` + ``ExecutionSettings`` + ``AnalysisSettings``
(declared in ``layerorder.experiment.configuration.settings``), flat to read (``config.epochs``)
and split by ``part``.
``RunConfig`` is one run of its grid: ``RunSettings`` with an order, a seed and a learning rate;
its run key is taken over ``to_dict()``. Values come from defaults, then a TOML file, then
command-line flags or keywords (later ones win). Every value is checked here, before a store is
opened or anything is trained.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from layerorder.archs import default_orders
from layerorder.errors import ConfigError, did_you_mean
from layerorder.experiment.configuration.settings import (
    AXIS,
    BY_NAME,
    DEFAULT_ORDERS,
    DEVICES,
    EXECUTORS,
    LOOP,
    OPTIMIZERS,
    OWN,
    RUN,
    SCHEDULES,
    SETTINGS,
    TABLE_FACTORS,
    AnalysisSettings,
    ExecutionSettings,
    Grid,
    RunSettings,
    Setting,
    is_user_run,
    table_factor,
)
from layerorder.stats.metric import ACCURACY, Metric

if TYPE_CHECKING:
    from layerorder.stats.sequential import Design

__all__ = [
    "DEFAULT_ORDERS",
    "DEVICES",
    "EXECUTORS",
    "OPTIMIZERS",
    "SCHEDULES",
    "ExperimentConfig",
    "RunConfig",
    "load_toml",
    "make_config",
    "merge_config",
]

TABLES = ("data_options", "params")  # settings of name = value pairs, a table in JSON
RUN_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.role == RUN)
Part = TypeVar("Part", RunSettings, Grid, ExecutionSettings, AnalysisSettings)


def _plain(name: str, value: Any) -> Any:
    """Tuples as lists, data options as a table: the JSON form of a setting's value."""
    if name in TABLES:
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


# The bases' fields come in reverse order of the bases: RunSettings, Grid, ExecutionSettings,
# AnalysisSettings.
@dataclass(frozen=True, kw_only=True)
class ExperimentConfig(AnalysisSettings, ExecutionSettings, Grid, RunSettings):
    """One experiment: a grid of orders x seeds x learning rates x the levels of the varied
    factors, all else fixed."""

    def part(self, kind: type[Part]) -> Part:
        """The config's settings of one part (``RunSettings``, ``Grid``, ``ExecutionSettings`` or
        ``AnalysisSettings``) as that part's own record."""
        return kind(**{f.name: getattr(self, f.name) for f in dataclasses.fields(kind)})

    def to_dict(self) -> dict[str, Any]:
        return {s.name: _plain(s.name, getattr(self, s.name)) for s in SETTINGS}

    @property
    def metric_name(self) -> str:
        """The metric compared (``test_acc`` unless one is named)."""
        return self.metric or ACCURACY

    @property
    def compared_metric(self) -> Metric:
        """The metric compared, with its goal and range (no data set is loaded)."""
        return Metric.named(self.metric, self.goal, self.metric_range)

    @property
    def user_run(self) -> bool:
        """Whether the runs are the user's own (``train`` or ``command``)."""
        return is_user_run(self)

    def identity(self) -> dict[str, Any]:
        """What defines the experiment's results: the grid's axes and the settings of its run
        keys (execution knobs, settings that do not apply, and new settings at their default
        left out)."""
        out = {
            s.name: _plain(s.name, getattr(self, s.name))
            for s in SETTINGS
            if s.role == AXIS or s.in_key(self)
        }
        if self.code_hash is not None:
            out["code_hash"] = self.code_hash
        return out

    def grid(self) -> dict[str, Any]:
        """What names the experiment in the store: its identity without the axes that grow
        (orders, seeds, learning rates, factor levels), so that more seeds or another level of a
        factor add runs to the same experiment. The varied fields are named (``vary``), their
        levels are not."""
        varied = {f for f, _ in self.vary}
        grid = {
            k: v
            for k, v in self.identity().items()
            if k not in ("orders", "seeds", "lr", "vary") and k not in varied
        }
        for table in TABLE_FACTORS:  # a varied entry's levels are not the experiment's name
            keys = {key for f in varied if (tf := table_factor(f)) and tf[0] == table
                    for key in (tf[1],)}
            if keys and table in grid:
                grid[table] = {k: v for k, v in grid[table].items() if k not in keys}
        if varied:
            grid["vary"] = sorted(varied)
        if self.until_decided:  # a sequential design is its own experiment: its looks and seeds
            grid["sequential"] = {
                "looks": list(design_of(self).looks),
                "seeds": list(seed_order(self)),
            }
        return grid

    def levels(self) -> list[dict[str, Any]]:
        """Every condition as the settings it overrides ([{}] when nothing varies); a data set
        option's level is merged into ``data_options``, a param's into ``params``."""
        names = [f for f, _ in self.vary]
        out = []
        for combo in itertools.product(*(v for _, v in self.vary)):
            level = dict(zip(names, combo))
            entries: dict[str, dict[str, Any]] = {}
            for name in names:
                if (tf := table_factor(name)) is not None:
                    entries.setdefault(tf[0], {})[tf[1]] = level.pop(name)
            for table, values in entries.items():
                level[table] = {**dict(getattr(self, table)), **values}
            out.append(level)
        return out

    def runs(self) -> list[RunConfig]:
        """The grid, in the order it is trained: seed-major so early results pair up (every
        condition of a seed before the next seed)."""
        base = {s.name: _plain(s.name, getattr(self, s.name)) for s in RUN_SETTINGS}
        base["code_hash"] = self.code_hash
        lrs = (None,) if "lr" in self.factors else self.lr
        return [
            RunConfig(
                order=o,
                seed=s,
                lr=level.get("lr", lr),
                **{**base, **{k: v for k, v in level.items() if k != "lr"}},
            )
            for lr in lrs
            for s in self.seeds
            for level in self.levels()
            for o in self.orders
        ]

    @property
    def factors(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.vary)

    @property
    def n_conditions(self) -> int:
        return math.prod(len(v) for _, v in self.vary)

    def not_applied(self) -> list[str]:
        """One line per setting given a value that has no effect on this experiment."""
        given = [s for s in SETTINGS if getattr(self, s.name) != s.default]
        if self.user_run:
            own = "your --command" if self.command is not None else "your train function"
            return [
                f"{s.name} = {_shown(getattr(self, s.name))} has no effect on {own} (it is the"
                " built-in loop's); left out of the run key"
                for s in given if s.role == RUN and s.meta.runs == LOOP
            ]
        return [
            f"{s.name} = {_shown(getattr(self, s.name))} has no effect on the built-in loop (it"
            " is for your own --command or train function); left out of the run key"
            for s in given if s.role == RUN and s.meta.runs == OWN
        ] + [
            f"{s.name} = {getattr(self, s.name)} {s.not_applied}; left out of the run key"
            for s in given if s.applies is not None and not s.applies(self)
        ]


def _shown(value: Any) -> str:
    if isinstance(value, tuple) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return ", ".join(f"{k}={v}" for k, v in value)
    return str(value)


def design_of(config: ExperimentConfig) -> Design:
    """The looks of ``--until-decided`` (the seeds count, then rounds of it, up to
    ``--max-seeds``), or the fixed design of one look."""
    # imported here for start-up time: the statistics load scipy, which reading a config never needs
    from layerorder.stats.sequential import Design, look_schedule

    if not config.until_decided:
        return Design()
    return Design(look_schedule(len(config.seeds), config.max_seeds))


def seed_order(config: ExperimentConfig) -> tuple[int, ...]:
    """The seeds in the order rounds add them: the given ones, then the smallest unused."""
    seeds = list(config.seeds)
    most = design_of(config).looks[-1] if config.until_decided else len(seeds)
    taken, n = set(seeds), 0
    while len(seeds) < most:
        if n not in taken:
            seeds.append(n)
        n += 1
    return tuple(seeds)


@dataclass(frozen=True, kw_only=True)
class RunConfig(RunSettings):
    """Everything that determines one run's result; its hash is the run key. The settings are
    held in their JSON form (data options as a table), as the store holds them."""

    order: str
    seed: int
    lr: float
    data_options: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The run's key fields: what its hash (the run key) is taken over."""
        out = {"order": self.order, "seed": self.seed, "lr": self.lr}
        out.update({s.name: getattr(self, s.name) for s in RUN_SETTINGS if s.in_key(self)})
        if self.code_hash is not None:
            out["code_hash"] = self.code_hash
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        return cls(**d)


def make_config(values: dict[str, Any], *, source: str = "options") -> ExperimentConfig:
    """Build a checked config from a mapping; unknown keys are errors. Without orders, a
    built-in architecture with orders of its own compares those (``archs.default_orders``)."""
    checked = {}
    for key, value in values.items():
        if key not in BY_NAME:
            raise ConfigError(f"unknown key '{key}' in {source}" + did_you_mean(key, BY_NAME))
        checked[key] = BY_NAME[key].coerce(value)
    built_in = all(checked.get(k) is None for k in ("model", "train", "command"))
    if "orders" not in checked and built_in:
        own = default_orders(checked.get("arch", BY_NAME["arch"].default))
        if own is not None:
            checked["orders"] = own
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
    except RecursionError:  # the TOML reader recurses once per level of nesting
        raise ConfigError(f"config file '{path}' nests arrays or tables too deeply to read; no"
                          f" setting needs more than {MAX_DEPTH} levels") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc}") from None
    _check_depth(data, f"config file '{path}'")
    return data


# levels of arrays and tables any file of layerorder's needs (a study: the file, [[experiments]],
# its [experiments.cpu] table, a setting's list: 4); deeper input is refused as it is read
MAX_DEPTH = 16


def _check_depth(data: Any, where: str) -> None:
    """Refuse data nested deeper than ``MAX_DEPTH`` (walked without recursion)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where} nests arrays or tables {depth} levels deep; no setting"
                              f" needs more than {MAX_DEPTH}")
        children = value.values() if isinstance(value, dict) else value if isinstance(
            value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def table_of(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``data[key]`` as a table (``[key]`` in TOML; empty where absent), else one line naming
    the key and what it must be."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table ([{key}] or [{key}.NAME]"
                          f" sections), not {_kind(value)}")
    return value


def tables_of(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """``data[key]`` as an array of tables (``[[key]]`` sections in TOML; empty where absent),
    else one line naming the key and what it must be."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: '{key}' must be an array of tables ([[{key}]] sections),"
                          f" not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """What a TOML value is, in the words of its syntax."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array of values" if not all(isinstance(v, dict) for v in value) else "an array"
    return f"a {type(value).__name__} ({value!r:.40})"


def merge_config(file_values: dict[str, Any], flag_values: dict[str, Any], source: str):
    """Defaults <- file <- flags (flags given as None are not set); errors name ``source``."""
    merged = dict(file_values)
    merged.update({k: v for k, v in flag_values.items() if v is not None})
    return make_config(merged, source=source)
