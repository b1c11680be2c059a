"""What a search will do before it trains anything: its settings checked, the order space, the
budget and the plan of rounds (``search_plan``, public as ``layerorder.search_plan``).
``layerorder search --dry-run`` prints it; ``layerorder.search_orders`` runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import ExperimentConfig, load_toml
from layerorder.experiment.configuration.settings import BY_NAME
from layerorder.experiment.configuration.signatures import with_settings
from layerorder.experiment.setup import make_experiment, model_target
from layerorder.search.budget import OWN_SETTINGS, Budget, parse_budget, search_takes
from layerorder.search.run import SearchPlan, plan_search
from layerorder.search.space import OrderSpace


@dataclass(frozen=True)
class SearchSetup:
    """A search ready to run: ``config`` holds its checked settings (its orders: the base
    only), ``settings`` them as a mapping (every stage's config is made from it, with the
    caller's data and model), ``base_note`` how the base order was read from the
    user's model (None when given or built-in)."""

    config: ExperimentConfig
    settings: dict[str, Any]
    space: OrderSpace
    plan: SearchPlan
    budget: Budget
    name: str
    base_note: str | None = None


def _names(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(t.strip() for t in items if t.strip())


@with_settings(search_takes)
def search_plan(
    *,
    data: Any = None,
    data_name: str | None = None,
    model: Any = None,
    config: str | Path | None = None,
    base: str | None = None,
    norms: str | tuple[str, ...] | None = None,
    acts: str | tuple[str, ...] | None = None,
    weight_first: bool = False,
    budget: str | float | None = None,
    eta: int = 3,
    finalists: int = 3,
    selection_seeds: int = 2,
    notes: Callable[[str], None] | None = None,
    **settings: Any,
) -> SearchSetup:
    """What ``layerorder.search_orders`` would do, training nothing: a ``SearchSetup`` with the
    checked config, the order space (every candidate, the merged spellings, the arrangements the
    model refused) and the plan of rounds and its cost.

    ``settings`` are ``compare``'s, less the ones the search decides (orders, seeds, vary,
    baseline, until_decided, max_seeds), checked with the TOML file ``config`` and the caller's
    ``data`` and ``model`` as ``layerorder.compare`` takes them. ``base``: the block order whose
    stages are arranged (default: the standard block, or the order of most of the model's
    blocks); ``norms``/``acts``: kinds to try (comma-separated or a sequence); ``weight_first``:
    only orders that start with the weight layer; ``budget``: full runs (30) or wall-clock time
    ("45m"); ``eta``: each round keeps the best 1/eta; ``finalists``: orders in the final stage;
    ``selection_seeds``: seeds per candidate in the rounds. ``notes`` receives the notes on
    settings without effect and, where the base order was read from the model, which it is
    (``SearchSetup.base_note``)."""
    from layerorder.archs import named_orders
    from layerorder.search.model_space import experiment_space, model_base

    values = {k: v for k, v in settings.items() if v is not None}
    own = [k for k in values if k in OWN_SETTINGS and k != "name"]
    if own:
        raise ConfigError(f"search decides {', '.join(own)} itself; leave it out")
    file_values = load_toml(config) if config is not None else {}
    target = model_target(model) if model is not None else (values.get("model")
                                                             or file_values.get("model"))
    note = None
    if base is None and target is not None:
        # read from the model before the config's checks build it, so the note comes first
        base, count, total = model_base(target)
        note = f"--base {base}: the order of {count} of the model's {total} blocks"
        if notes is not None:
            notes(note)
    arch = values.get("arch") or file_values.get("arch") or BY_NAME["arch"].default
    own = any(values.get(k) or file_values.get(k) for k in ("command", "train"))
    named = None if target is not None or own else named_orders(arch)
    # a named-order arch's first order: experiment_space then refuses --base with its reason
    first = named[0] if named else (base or "standard")
    cfg = make_experiment({**values, "orders": (first,)}, data=data, data_name=data_name,
                          model=model, config=config, notes=notes)
    taken = [k for k in ("vary", "baseline") if getattr(cfg, k)]
    if taken:
        raise ConfigError(f"search decides {' and '.join(taken)} itself; leave "
                          f"{', '.join(taken)} out of {config or 'the settings'}")
    space = experiment_space(cfg, base=base, norms=_names(norms), acts=_names(acts),
                             weight_first=weight_first)
    if not space.candidates:
        raise ConfigError(f"no arrangement of '{space.base}' applies to this model; check"
                          " --base against `layerorder lint` of the model")
    limit = parse_budget(budget)
    plan = plan_search(len(space.candidates), epochs=cfg.epochs, budget=limit.runs, eta=eta,
                       finalists=finalists, selection_seeds=selection_seeds)
    return SearchSetup(cfg, cfg.to_dict(), space, plan, limit, f"search-{cfg.name}", note)
