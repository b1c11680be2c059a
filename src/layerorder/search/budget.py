"""A search budget: full training runs (``30``) or wall-clock time (``45m``, ``2h``, ``900s``).

A time budget cannot be turned into runs before anything has trained. The selection rounds are
planned as for the default run budget; once they have trained, the seconds an epoch costs on
this machine (the rounds' own run times, divided by the executor's parallel workers) set how
many seeds the final stage may add within the time left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from layerorder.durations import UNITS, split_amount
from layerorder.errors import ConfigError

FINAL_SEEDS = 3  # seeds per finalist at the final stage's first look
# the final stage's most seeds per finalist, whatever the budget: past it, orders this close are
# called undecided (with the seeds that would decide them) rather than trained on and on
MAX_FINAL_SEEDS = 50

MAX_RUNS, MAX_SECONDS = 1_000_000, 365 * 86_400  # a budget larger is a typo

FULL_SEEDS = 5  # the default budget is a third of training every candidate on this many seeds
# settings the search decides itself, whatever the TOML file or the caller says
OWN_SETTINGS = ("orders", "seeds", "until_decided", "max_seeds", "vary", "baseline", "name")


def search_takes(s) -> bool:
    """The settings a search takes (a ``Setting``): every one it does not decide itself."""
    return s.name not in OWN_SETTINGS


@dataclass(frozen=True)
class Budget:
    runs: float | None = None  # full training runs
    seconds: float | None = None  # wall-clock time

    def __str__(self) -> str:
        if self.seconds is not None:
            return f"{self.seconds:g} s"
        return f"{self.runs:g} runs" if self.runs is not None else "default"


def parse_budget(text: str | float | None) -> Budget:
    """``None`` -> the default; ``30`` -> 30 full runs; ``45m`` / ``2h`` / ``900s`` -> time."""
    if text is None:
        return Budget()
    value, unit = split_amount(text) or (math.nan, "")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"--budget '{text}' is neither a number of full runs (30) nor a time"
                          " (45m, 2h, 900s)")
    if (value * UNITS[unit] if unit else value) > (MAX_SECONDS if unit else MAX_RUNS):
        raise ConfigError(f"--budget '{text}' is more than any search spends: at most"
                          f" {MAX_RUNS:,} full runs or {MAX_SECONDS // 86_400} days")
    return Budget(seconds=value * UNITS[unit]) if unit else Budget(runs=value)


def seeds_for_time(plan, seconds_left: float, seconds_per_epoch: float) -> int:
    """Seeds per finalist the time left pays for (the final stage's worst case)."""
    per_seed = seconds_per_epoch * plan.epochs * max(plan.finalists, 1)
    return int(seconds_left // per_seed) if per_seed > 0 else plan.max_seeds


def capped_for_time(plan, seconds: float, spent_seconds: float, seconds_per_epoch: float,
                    most: int | None = None):
    """``plan`` with the final stage's seed cap set by the time left (at least its first look,
    at most ``most`` and ``MAX_FINAL_SEEDS``), and the budget restated in full runs."""
    seeds = seeds_for_time(plan, seconds - spent_seconds, seconds_per_epoch)
    seeds = min(max(seeds, FINAL_SEEDS), MAX_FINAL_SEEDS, most or MAX_FINAL_SEEDS)
    runs = plan.round_cost() + plan.finalists * seeds
    return replace(plan, max_seeds=seeds, budget=runs)
