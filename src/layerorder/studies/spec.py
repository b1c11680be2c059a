"""A study file, read once into typed records: its scales, its experiments and its claims.

A study is a TOML file (the built-in ones live in ``layerorder/studies/builtin``)::

    name = "bn-placement"            # how commands name it
    version = 1                      # part of every experiment's name: a new version trains anew
    title = "..."
    question = "..."

    [scales.quick]                   # settings every experiment takes at this scale
    dataset = "mnist1d"
    seeds = 5
    minutes = 6.5                    # measured wall time of this scale, and where it was measured
    measured_on = "2-core CPU"
    [scales.full]
    dataset = "cifar10"
    gpu_hours = 3.0                  # expected, for a scale not run where the file was written

    [[experiments]]                  # one comparison: any setting of 'layerorder compare'
    id = "order"
    orders = ["conv-bn-relu", "conv-relu-bn"]
    probe = true
    full = { epochs = 60 }           # per-scale overrides
    scales = ["cpu", "full"]         # only at these scales (default: every scale); its claims
                                     # are tested where it runs and left off the other pages

    [[claims]]                       # a measurable statement, its test and threshold
    id = "half-positive"
    statement = "Conv-BN-ReLU gives the activation zero-centred input, about half positive"
    source = "Ioffe & Szegedy 2015, section 3.2"
    experiment = "order"
    test = "value"                   # see layerorder.studies.claims.TESTS
    ...

Settings go through the same declarations as ``layerorder compare`` (``make_config``), so a
study accepts exactly what the command line accepts, checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from layerorder.errors import ConfigError, did_you_mean
from layerorder.experiment.configuration.config import (
    ExperimentConfig,
    make_config,
    table_of,
    tables_of,
)
from layerorder.files import SAFE_NAME, SAFE_NAME_RULE
from layerorder.studies.regime import Regime, parse_regime

SCALES = ("quick", "cpu", "full")  # tests in minutes; each claim's regime on a 2-core CPU; a GPU
# keys of a [scales.X] table that describe the scale rather than set a setting
SCALE_KEYS = ("minutes", "measured_on", "gpu_hours", "note")


@dataclass(frozen=True)
class Scale:
    """One scale of a study: the settings it gives every experiment, and how long it takes
    (``minutes`` measured on ``measured_on``; ``gpu_hours`` expected on one GPU)."""

    name: str
    settings: dict[str, Any]
    minutes: float | None = None
    measured_on: str = ""
    gpu_hours: float | None = None
    note: str = ""


@dataclass(frozen=True)
class ExperimentSpec:
    """One comparison of a study: its settings, and its overrides per scale."""

    id: str
    title: str
    settings: dict[str, Any]
    overrides: dict[str, dict[str, Any]]  # scale name -> settings
    scales: tuple[str, ...] = ()  # the scales it runs at; empty: every scale of the study

    def runs_at(self, scale: str) -> bool:
        return not self.scales or scale in self.scales


CLAIM_KINDS = ("claim", "check")
IDENTITY_TESTS = ("same-function",)  # true by construction: only ever a check


@dataclass(frozen=True)
class ClaimSpec:
    """A measurable statement, the experiment that tests it and its test (a record of
    ``layerorder.studies.claims.TESTS``).

    ``kind``: ``claim`` (a statement of the debate, counted in the verdicts) or ``check`` (an
    identity or sanity fact the probe must reproduce: true by construction, so never counted as
    evidence). ``primary``: one of the study's primary claims, whose error is controlled across
    every primary claim on a page. ``shares``: the id of the claim whose comparison this one
    reads too (tested once, counted once). ``guarded_by``: the id of a check that must hold for
    this claim's verdict to stand (a guard on how the claim is read: elsewhere it is undecided).
    ``reading``: the statement is this study's own reading of its source (a sharper or narrower
    form than the source's words, or a question no source answers), so its verdict speaks to
    that reading and not to a claim the source made; a page counts such verdicts apart.
    ``literature``: the source's own number; ``regime``: what the source measured in and what a
    scale needs (``studies.regime``)."""

    id: str
    statement: str
    source: str
    experiment: str
    test: Any  # a frozen test record; its ``kind`` names it
    kind: str = "claim"
    primary: bool = False
    shares: str = ""
    literature: str = ""
    regime: Regime = field(default_factory=Regime)
    scales: tuple[str, ...] = ()  # tested only at these scales (and where its experiment runs)
    guarded_by: str = ""
    reading: bool = False

    @property
    def counted(self) -> bool:
        """Counted in the page's verdicts: a debated claim that does not repeat another's test."""
        return self.kind == "claim" and not self.shares


@dataclass(frozen=True)
class Study:
    name: str
    version: int
    title: str
    question: str
    path: Path
    scales: dict[str, Scale]
    experiments: tuple[ExperimentSpec, ...]
    claims: tuple[ClaimSpec, ...]

    @property
    def built_in(self) -> bool:
        """One of the studies shipped with layerorder (``layerorder/studies/builtin``)."""
        return self.path.parent.name == "builtin"

    def experiments_at(self, scale: str) -> tuple[ExperimentSpec, ...]:
        """The experiments that run at ``scale``."""
        return tuple(e for e in self.experiments if e.runs_at(scale))

    def claims_at(self, scale: str) -> tuple[ClaimSpec, ...]:
        """The claims tested at ``scale``: those whose experiment runs there."""
        return tuple(c for c in self.claims if self.experiment(c.experiment).runs_at(scale)
                     and (not c.scales or scale in c.scales))

    def experiment(self, experiment_id: str) -> ExperimentSpec:
        for e in self.experiments:
            if e.id == experiment_id:
                return e
        raise ConfigError(f"study '{self.name}' has no experiment '{experiment_id}'")

    def scale(self, name: str) -> Scale:
        if name not in self.scales:
            raise ConfigError(
                f"study '{self.name}' has no scale '{name}'; it has {', '.join(self.scales)}"
            )
        return self.scales[name]

    def experiment_name(self, experiment_id: str, scale: str) -> str:
        """The stored experiment's name: study, version, experiment and scale."""
        return f"{experiment_prefix(self.name)}v{self.version}/{experiment_id}@{scale}"

    def config(self, experiment_id: str, scale: str, **execution: Any) -> ExperimentConfig:
        """The checked config of one experiment at one scale; ``execution`` adds settings that
        do not change results (executor, workers, device, ...)."""
        spec, sc = self.experiment(experiment_id), self.scale(scale)
        if not spec.runs_at(scale):
            raise ConfigError(f"study '{self.name}': experiment '{experiment_id}' does not run at "
                              f"scale '{scale}' (only at {', '.join(spec.scales)})")
        values = {**sc.settings, **spec.settings, **spec.overrides.get(scale, {})}
        values.update({k: v for k, v in execution.items() if v is not None})
        values["name"] = self.experiment_name(experiment_id, scale)
        where = f"study '{self.name}', experiment '{experiment_id}' at scale '{scale}'"
        return make_config(values, source=where)


def _text(table: dict, key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


# study names and experiment and claim ids name files and experiments: a safe alphabet only


def _name(table: dict, key: str, where: str) -> str:
    """A name or id that becomes part of a file's or an experiment's name."""
    value = _text(table, key, where)
    if not SAFE_NAME.fullmatch(value):
        raise ConfigError(f"{where}: '{key}' names files and experiments, so it takes"
                          f" {SAFE_NAME_RULE}, got {value!r}")
    return value


def _unknown(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}'" + did_you_mean(key, list(allowed)))


MAX_HOURS = 24 * 365  # a scale's measured minutes or expected GPU-hours: a year at most


def _scale(name: str, table: dict, where: str) -> Scale:
    if name not in SCALES:
        raise ConfigError(f"{where}: unknown scale '{name}'" + did_you_mean(name, SCALES))
    settings = {k: v for k, v in table.items() if k not in SCALE_KEYS}
    minutes, gpu_hours = table.get("minutes"), table.get("gpu_hours")
    for key, value in (("minutes", minutes), ("gpu_hours", gpu_hours)):
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or not 0 < value <= MAX_HOURS * 60):
            raise ConfigError(f"{where}: '{key}' must be a positive number of at most"
                              f" {MAX_HOURS * 60:,} (a year), got {value!r}")
    return Scale(
        name,
        settings,
        None if minutes is None else float(minutes),
        str(table.get("measured_on", "")),
        None if gpu_hours is None else float(gpu_hours),
        str(table.get("note", "")),
    )


def _experiment(table: dict, where: str, scales: dict[str, Scale]) -> ExperimentSpec:
    eid = _name(table, "id", where)
    overrides = {s: dict(table_of(table, s, where)) for s in SCALES if s in table}
    settings = {k: v for k, v in table.items() if k not in ("id", "title", "scales", *SCALES)}
    only = table.get("scales", [])
    if not isinstance(only, list) or not all(isinstance(x, str) and x in scales for x in only):
        raise ConfigError(f"{where}: 'scales' takes a list of the study's scales "
                          f"({', '.join(scales)}), got {only!r}")
    return ExperimentSpec(eid, str(table.get("title", eid)), settings, overrides, tuple(only))


def parse_study(data: dict, path: Path) -> Study:
    """A study from its TOML mapping; every experiment is checked at every scale, and every
    claim's test is parsed (so a typo fails when the file is read, not hours later)."""
    from layerorder.studies.claim_tests import parse_test

    where = f"study file '{path}'"
    _unknown(data, ("name", "version", "title", "question", "scales", "experiments", "claims"),
             where)
    name = _name(data, "name", where)
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ConfigError(f"{where}: 'version' must be a positive integer")
    scales = {k: _scale(k, table_of({k: v}, k, f"{where} [scales]"), f"{where} [scales.{k}]")
              for k, v in table_of(data, "scales", where).items()}
    if "quick" not in scales:
        raise ConfigError(f"{where}: a study needs a [scales.quick] table")
    experiments = tuple(
        _experiment(t, f"{where} experiment {i + 1}", scales)
        for i, t in enumerate(tables_of(data, "experiments", where))
    )
    ids = [e.id for e in experiments]
    if not ids or len(set(ids)) != len(ids):
        raise ConfigError(f"{where}: needs experiments with distinct ids, got {ids}")
    claims = [_claim(table, i, ids, where, parse_test, scales)
              for i, table in enumerate(tables_of(data, "claims", where))]
    if not claims or len({c.id for c in claims}) != len(claims):
        raise ConfigError(f"{where}: needs claims with distinct ids")
    _check_shared(claims, where)
    _check_guards(claims, where)
    study = Study(
        name, version, _text(data, "title", where), str(data.get("question", "")).strip(),
        path, scales, experiments, tuple(claims),
    )
    for e in experiments:
        for s in filter(e.runs_at, scales):
            _check_orders(study.config(e.id, s), f"{where}, experiment '{e.id}' at scale '{s}'")
    for c in claims:
        for s in [s for s in scales if c in study.claims_at(s)]:
            _checkreferences(c, study.config(c.experiment, s),
                              f"{where} claim {c.id} at scale '{s}'")
    return study


CLAIM_KEYS = ("id", "statement", "source", "experiment", "test", "kind", "primary", "shares",
              "literature", "regime", "needs", "scales", "guarded_by", "reading")


def _claim(table: dict, i: int, ids: list[str], where: str, parse_test,
           scales: dict[str, Scale]) -> ClaimSpec:
    cw = f"{where} claim {table.get('id', i + 1)}"
    exp = _text(table, "experiment", cw)
    if exp not in ids:
        raise ConfigError(f"{cw}: no experiment '{exp}'" + did_you_mean(exp, ids))
    kind = table.get("kind", "claim")
    if kind not in CLAIM_KINDS:
        raise ConfigError(f"{cw}: kind must be one of {', '.join(CLAIM_KINDS)}, got '{kind}'")
    primary = table.get("primary", False)
    if not isinstance(primary, bool) or (primary and kind == "check"):
        raise ConfigError(f"{cw}: 'primary' takes true or false, and a check is never primary")
    reading = table.get("reading", False)
    if not isinstance(reading, bool) or (reading and kind == "check"):
        raise ConfigError(f"{cw}: 'reading' takes true or false, and a check is never a reading")
    for key in ("shares", "literature", "guarded_by"):
        if not isinstance(table.get(key, ""), str):
            raise ConfigError(f"{cw}: '{key}' must be a string")
    params = {k: v for k, v in table.items() if k not in CLAIM_KEYS}
    only = table.get("scales", [])
    if not isinstance(only, list) or not all(isinstance(x, str) and x in scales for x in only):
        raise ConfigError(f"{cw}: 'scales' takes a list of the study's scales "
                          f"({', '.join(scales)}), got {only!r}")
    if table.get("test") in IDENTITY_TESTS and kind != "check":
        raise ConfigError(f"{cw}: test '{table['test']}' shows an identity: it is a check "
                          "(kind = \"check\"), never evidence for a claim")
    return ClaimSpec(
        _name(table, "id", cw), _text(table, "statement", cw), _text(table, "source", cw), exp,
        parse_test(_text(table, "test", cw), params, cw), kind, primary,
        table.get("shares", ""), table.get("literature", ""),
        parse_regime(table.get("regime"), table.get("needs"), cw), tuple(only),
        table.get("guarded_by", ""), reading,
    )


def comparison_key(claim: ClaimSpec) -> tuple:
    """What a claim compares: its experiment, its test's family (``accuracy`` for every claim
    read from the pair decisions), the orders, conditions and probe measures it names. Two claims
    with the same key test one comparison."""
    if hasattr(claim.test, "built_orders"):  # measured on models built for it: its own record
        return (claim.experiment, claim.test.kind, repr(claim.test))
    orders, conditions, factors = references(claim.test)
    stats = sorted(repr(getattr(claim.test, f.name)) for f in fields(claim.test)
                   if hasattr(getattr(claim.test, f.name), "statistic"))
    family = getattr(claim.test, "family", claim.test.kind)
    return (claim.experiment, family, tuple(sorted(set(orders))),
            tuple(sorted(str(sorted(c.items())) for c in conditions)), tuple(factors),
            tuple(stats))


def _check_guards(claims: list[ClaimSpec], where: str) -> None:
    """A claim's guard is a check of the same study, tested wherever the claim is; claims that
    share one comparison share its guard."""
    by_id = {c.id: c for c in claims}
    for c in claims:
        if not c.guarded_by:
            continue
        guard = by_id.get(c.guarded_by)
        if guard is None or guard.kind != "check":
            raise ConfigError(f"{where} claim {c.id}: guarded_by names no check of this study"
                              + did_you_mean(c.guarded_by, [k for k in by_id
                                                            if by_id[k].kind == "check"]))
        if c.kind == "check":
            raise ConfigError(f"{where} claim {c.id}: a check has no guard")
        if guard.experiment != c.experiment or (guard.scales and set(c.scales or ["*"])
                                                 - set(guard.scales)):
            raise ConfigError(f"{where} claim {c.id}: its guard '{guard.id}' must test the same"
                              " experiment at every scale the claim is tested at")
    for c in claims:  # after _check_shared: a shared claim exists
        if c.shares and by_id[c.shares].guarded_by != c.guarded_by:
            raise ConfigError(f"{where} claim {c.id}: it shares '{c.shares}''s comparison, so it"
                              " takes the same guarded_by")


def _check_shared(claims: list[ClaimSpec], where: str) -> None:
    """A claim that reads another's comparison says so (``shares``), and names a real one."""
    by_id = {c.id: c for c in claims}
    first: dict[tuple, str] = {}
    for c in claims:
        if c.shares:
            if c.shares not in by_id or c.shares == c.id:
                raise ConfigError(f"{where} claim {c.id}: shares names no other claim"
                                  + did_you_mean(c.shares, list(by_id)))
            if comparison_key(by_id[c.shares]) != comparison_key(c):
                raise ConfigError(f"{where} claim {c.id}: shares '{c.shares}', but the two "
                                  "claims test different comparisons")
            if c.primary:
                raise ConfigError(f"{where} claim {c.id}: a claim that shares another's "
                                  "comparison is not primary (the other one counts)")
            continue
        if c.kind != "claim":
            continue
        key = comparison_key(c)
        if key in first:
            raise ConfigError(f"{where} claims {first[key]} and {c.id} test the same comparison;"
                              f" add shares = \"{first[key]}\" to {c.id}")
        first[key] = c.id


# the fields of a claim test that name one order, and those that name several
ORDER_FIELDS = ("better", "than", "higher", "less_reliable")
ORDERS_FIELDS = ("equivalent", "ranking")


def references(test) -> tuple[list[str], list[dict], list[str]]:
    """The orders, conditions and factors a claim's test names (read from its fields: orders
    in better/than/higher/less_reliable/equivalent/ranking and in measures)."""
    orders, conditions, factors = [], [], []
    for f in fields(test):
        value = getattr(test, f.name)
        if hasattr(value, "order") and hasattr(value, "condition"):  # a Measure
            orders.append(value.order)
            conditions.append(dict(value.condition))
        elif f.name in ORDER_FIELDS and value:
            orders.append(value)
        elif f.name in ORDERS_FIELDS:
            orders.extend(value)
        elif f.name == "condition":
            conditions.append(dict(value))
        elif f.name == "factor":
            factors.append(value)
    return orders, conditions, factors


def measured_cells(test) -> list[tuple[str, dict]] | None:
    """The (order, condition) cells a claim's test reads, where it reads only measures (a
    difference of pre-LN without warmup and post-LN with it reads two cells, not the four its
    orders and conditions make); None for a test that names orders apart from measures."""
    cells = []
    for f in fields(test):
        value = getattr(test, f.name)
        if hasattr(value, "order") and hasattr(value, "condition"):  # a Measure
            cells.append((value.order, dict(value.condition)))
        elif f.name in (*ORDER_FIELDS, *ORDERS_FIELDS, "condition") and value:
            return None
    return cells or None


def _checkreferences(claim: ClaimSpec, config: ExperimentConfig, where: str) -> None:
    from layerorder.archs import check_order_for_arch
    from layerorder.errors import LayerorderError
    from layerorder.studies.evidence import BEST, LEVEL_WORDS

    for order in getattr(claim.test, "built_orders", ()):  # built from settings, not trained
        try:
            check_order_for_arch(config.arch, order)
        except (LayerorderError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    _check_metric(claim, config, where)
    orders, conditions, factors = references(claim.test)
    for order in orders:
        if order not in config.orders:
            raise ConfigError(f"{where}: order '{order}' is not one of the experiment's orders"
                              + did_you_mean(order, config.orders))
    levels = dict(config.vary)
    for factor in factors + [k for c in conditions for k in c]:
        if factor not in levels:
            raise ConfigError(f"{where}: '{factor}' is not a varied factor of experiment "
                              f"'{claim.experiment}'" + did_you_mean(factor, list(levels)))
    measured = [dict(cond) for _, cond in measured_cells(claim.test) or ()]
    named = [(c, (*LEVEL_WORDS, BEST)) for c in measured] + [
        (c, LEVEL_WORDS) for c in conditions if c not in measured]
    for condition, words in named:
        for factor, level in condition.items():
            known = {str(v) for v in levels[factor]}
            if level not in words and str(level) not in known:
                raise ConfigError(f"{where}: {factor} = {level} is not a level ({', '.join(known)}"
                                  f"; or {', '.join(repr(w) for w in words)})")
        best = [f for f, level in condition.items() if level == BEST]
        missing = sorted(set(levels) - set(condition))
        if len(best) > 1:
            raise ConfigError(f"{where}: 'best' picks one factor's level, and {', '.join(best)}"
                              " all ask for it; name the others' levels")
        if best and missing:
            raise ConfigError(f"{where}: a condition with {best[0]} = 'best' names every other "
                              f"varied factor, so each level is one cell; add {', '.join(missing)}")


def _check_metric(claim: ClaimSpec, config: ExperimentConfig, where: str) -> None:
    """A claim reads what its experiment's runs record: a test of accuracy alone needs the
    built-in loop's accuracy, and a run measure names a statistic the runs have (the loop's
    final test accuracy, or ``metrics.NAME`` a user's own run reported)."""
    from layerorder.studies.evidence import LOOP_ONLY, REPORTED, RUN_KIND

    metric = config.compared_metric
    if getattr(claim.test, "accuracy_only", False) and not metric.is_accuracy:
        raise ConfigError(f"{where}: test '{claim.test.kind}' reads test accuracy, and experiment"
                          f" '{claim.experiment}' compares {metric.name}; give the claim an"
                          " experiment of the built-in loop's accuracy")
    own = config.user_run
    for f in fields(claim.test):
        m = getattr(claim.test, f.name)
        if getattr(m, "kind", None) != RUN_KIND or not hasattr(m, "statistic"):
            continue
        if own and m.statistic in LOOP_ONLY:
            raise ConfigError(f"{where}: experiment '{claim.experiment}' runs your own training,"
                              f" which records no {m.statistic}; read a metric it reports as"
                              f" statistic = \"{REPORTED}NAME\" (e.g. {REPORTED}{metric.name})")
        if not own and m.statistic.startswith(REPORTED):
            raise ConfigError(f"{where}: {m.statistic} reads a metric a user's own run reports,"
                              f" and experiment '{claim.experiment}' runs the built-in loop")


def _check_orders(config: ExperimentConfig, where: str) -> None:
    """Every order is valid for the architecture of every condition, as ``compare`` checks it
    (the data set is checked when the study runs: a full-scale one may need a package this
    machine lacks); a user's own run has what it needs (its metric, its placeholders)."""
    from layerorder.errors import LayerorderError
    from layerorder.experiment.validate import (
        check_architecture,
        check_user_run,
        condition_configs,
    )

    try:
        if config.user_run:  # its orders are the user's code's to read: any names
            check_user_run(config)
            return
        for cfg in condition_configs(config):
            check_architecture(cfg)
    except (LayerorderError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def experiment_prefix(study: str) -> str:
    """How the names of a study's stored experiments begin (``Study.experiment_name``)."""
    return f"study:{study}/"
