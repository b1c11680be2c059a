"""Every experiment setting, declared once, as a typed field of one of the config's parts.

``RunSettings`` is what a run is (data, model and training: its run key), ``Grid`` the axes of a
comparison (orders, seeds, learning rates, varied factors), ``ExecutionSettings`` how runs
execute and ``AnalysisSettings`` how they are analysed (neither ever in a key). Each field
carries its default and, as its metadata (``setting(...)``), its check (which also brings a value
to its type), its help and, where it has no effect for some configs, the predicate that says so.
``SETTINGS`` reads them back from ``dataclasses.fields()``; ``ExperimentConfig`` (the parts
together), the TOML keys, the Python keywords, validation with did-you-mean messages, run keys and
the report's configuration table derive from it, and the command line's options from it and the
flag facts in ``layerorder.cli.options``.

Frozen dataclasses rather than pydantic: the config is used across processes and stored as JSON,
the checks are a handful of numeric ranges and choices, and the error messages must be one line
naming the setting and the fix, which plain functions give directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from layerorder.archs import takes_option, uses_dropout
from layerorder.errors import ConfigError, did_you_mean
from layerorder.order import DEFAULT_P_DROP, RESNET_DROPOUT_AT
from layerorder.stats.metric import GOALS
from layerorder.stats.plan import DEFAULT_MARGIN
from layerorder.stats.text import join_names
from layerorder.targets import TargetError, split_kwargs

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ExecutorKind:
    """What one value of ``--executor`` is. The option's choices and help, the checks of the
    options that apply to some executors only, and which runner path a sweep takes derive from
    these facts; how each kind plans, describes and makes itself is
    ``layerorder.experiment.execution.executors.WAYS``, keyed by ``name``."""

    name: str
    help: str = ""  # its words in --executor's help, after its name
    stacks: bool = False  # trains the seeds of a configuration as one model (--stack-mode)
    pool: bool = False  # may train in local worker processes (user objects are shipped to them)
    # trains nothing in the driver: pull workers ('layerorder worker') do, and the driver stores
    # each round and waits for them
    pull: bool = False
    workers: bool = False  # takes --workers (how many processes, or SLURM array tasks)


EXECUTOR_KINDS = (
    ExecutorKind("auto", pool=True, workers=True),
    ExecutorKind("sequential"),
    ExecutorKind("process", pool=True, workers=True),
    ExecutorKind("stacked", "the seeds of a configuration as one model", stacks=True),
    ExecutorKind("stacked-pool", "a process pool whose workers each train such stacks",
                 stacks=True, pool=True, workers=True),
    ExecutorKind("ray"),
    ExecutorKind("workers", "store the runs and wait while 'layerorder worker' processes, on"
                 " any hosts, train them", pull=True),
    ExecutorKind("slurm", "the same, with the workers submitted as a SLURM job array",
                 pull=True, workers=True),
)
EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS)
STACKING_EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS if k.stacks)
POOL_EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS if k.pool)
PULL_EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS if k.pull)
WORKERS_EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS if k.workers)
UNSTACKED_EXECUTORS = tuple(k.name for k in EXECUTOR_KINDS if not k.stacks)  # for a user's runs

SLURM_CLUSTERS = ("slurm", "local")
STACK_MODES = ("auto", "exact", "batched")  # layerorder.experiment.training.stacking says each
# epochs between probes: on the default model a probe costs 7-9% of an epoch's time, and a
# probed run's end (its fit, and BN recalibrated over the training set) about a third of an
# epoch, so every fifth epoch keeps --probe near 4% of a 20-epoch run where every third took 5%
# (benchmarks/bench_probe.py); no study reads an epoch of probe data other than init and the
# last (layerorder.studies.evidence.EPOCHS)
PROBE_EVERY = 5
DEFAULT_ORDERS = ("standard", "act-first", "preact", "drop-before-bn", "no-norm")

RUN, AXIS, EXECUTION, ANALYSIS = "run", "axis", "execution", "analysis"
LOOP, OWN, BOTH = "loop", "own", "both"  # the runs a run setting applies to (``Meta.runs``)


# ---- checks: (key, raw value) -> value of the setting's type, or ConfigError ----------------


def _int(key: str, value: Any, minimum: int = 1, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{key} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{key} must be at most {maximum:,}, got {number:,}")
    return number


def _float(key: str, value: Any, lo: float, hi: float | None = None, *, open_lo=False,
           most: float | None = None) -> float:
    """A finite number in its range: ``> lo`` or ``>= lo``, ``< hi``, ``<= most``."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    bad = not math.isfinite(number) or number < lo or (open_lo and number == lo)
    if bad or (hi is not None and number >= hi) or (most is not None and number > most):
        rng = f"> {lo:g}" if open_lo else f">= {lo:g}"
        rng += f" and < {hi:g}" if hi is not None else ""
        rng += f" and at most {most:g}" if most is not None else ""
        raise ConfigError(f"{key} must be a number {rng}, got {value!r}")
    return number


def _list(value: Any, key: str = "value") -> list:
    """Items of a list, or of comma-separated text; an empty entry ('0.1,,0.2') is an error."""
    if isinstance(value, (list, tuple)):
        return [
            v for item in value for v in (_list(item, key) if isinstance(item, str) else [item])
        ]
    items = [v.strip() for v in str(value).split(",")]
    if any(v == "" for v in items):
        raise ConfigError(f"{key} has an empty entry in '{value}'; remove the extra comma")
    return items


def _unique_nonempty(key: str, items: list) -> tuple:
    if not items:
        raise ConfigError(f"{key} must not be empty")
    if len(set(items)) != len(items):
        raise ConfigError(f"{key} must not repeat, got {items}")
    return tuple(items)


def integer(minimum: int = 1, optional: bool = False,
            maximum: int | None = None) -> Callable[[str, Any], Any]:
    """An integer ``>= minimum`` and, where a larger one could only be a typo that would run for
    ever or fill the memory, ``<= maximum``."""

    def check(key: str, value: Any) -> int | None:
        return None if optional and value is None else _int(key, value, minimum, maximum)

    check.metavar = "INT"
    return check


def number(lo: float, hi: float | None = None, *, open_lo: bool = False,
           most: float | None = None):
    def check(key: str, value: Any) -> float:
        return _float(key, value, lo, hi, open_lo=open_lo, most=most)

    check.metavar = "NUM"
    return check


def optional_number(lo: float, *, open_lo: bool = False, most: float | None = None):
    def check(key: str, value: Any) -> float | None:
        return None if value is None else _float(key, value, lo, open_lo=open_lo, most=most)

    check.metavar = "NUM"
    return check


def choice(choices: tuple[str, ...]):
    def check(key: str, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ConfigError(f"unknown {key} '{value}'" + did_you_mean(text, choices))
        return text

    check.metavar = "|".join(choices).upper()
    return check


_FLAG_WORDS = {"true": True, "false": False}  # the levels of --vary FIELD=true,false


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    return value


def text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{key} is not valid UTF-8 text") from None
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ConfigError(f"{key} contains a control character; use printable text")
    out = value.strip()
    if not out or len(out) > 200:
        raise ConfigError(f"{key} must be 1-200 characters")
    return out


def optional_text(key: str, value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else text(key, value)


def optional_choice(choices: tuple[str, ...]):
    strict = choice(choices)

    def check(key: str, value: Any) -> str | None:
        return None if value is None else strict(key, value)

    check.metavar = strict.metavar
    return check


def metric_name(key: str, value: Any) -> str:
    """A metric's name as runs report it: letters, digits, '_', '.', '-' and '/'."""
    out = text(key, value)
    if not all(c.isalnum() or c in "_.-/" for c in out):
        raise ConfigError(f"metric '{out}' may hold letters, digits, '_', '.', '-' and '/' only")
    return out


def optional_metric_name(key: str, value: Any) -> str | None:
    return None if value is None else metric_name(key, value)


optional_metric_name.metavar = "NAME"


def value_range(key: str, value: Any) -> tuple[float, float] | None:
    """``LO,HI`` (or a two-item list): the values a metric can take."""
    if value is None:
        return None
    items = _list(value, key)
    if len(items) != 2:
        raise ConfigError(f"{key} takes LO,HI (e.g. 0,1), got {value!r}")
    lo, hi = (_float(key, v, -math.inf) for v in items)
    if not lo < hi:
        raise ConfigError(f"{key} needs LO < HI, got {lo:g},{hi:g}")
    return (lo, hi)


value_range.metavar = "LO,HI"


def lowered(key: str, value: Any) -> str:
    return text(key, value).lower()


def model_target(key: str, value: Any) -> str | None:
    """A user's model as a target string ``file.py:factory`` or ``package.module:factory``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"model must be a target string like models.py:make_model, got a"
            f" {type(value).__name__}; pass a callable to layerorder.compare(model=...) instead"
        )
    out = value.strip()
    if ":" not in out:
        raise ConfigError(
            f"model '{value}' must look like path/to/file.py:factory or package.module:factory"
        )
    if "(" in out:  # keyword arguments: one spelling, so one run key per model
        try:
            base, kwargs = split_kwargs(out)
        except TargetError as exc:
            raise ConfigError(str(exc)) from None
        out = f"{base}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else base
    return out


def data_options(key: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """A table of option = value, or ``KEY=VALUE`` strings as ``--data-opt`` (``--param``) gives
    them."""
    flag_name = "--param" if key == "params" else "--data-opt"
    example = "p_drop=0.1" if key == "params" else "num_samples=10000"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        table = {}
        for item in value:
            name, sep, val = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"{flag_name} takes KEY=VALUE, got '{item}' (e.g. {example})")
            table[name.strip()] = val.strip()
        value = table
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a table of name = value")
    return tuple(sorted((str(k), v) for k, v in value.items()))


name_values = data_options  # the same check under a name the run settings' fields do not shadow
name_values.metavar = "KEY=VALUE"

MAX_SEEDS = 100_000  # far above any real sweep; a typo ('10000000') must not fill the memory


def seeds(key: str, value: Any) -> tuple[int, ...]:
    """An int n means seeds 0..n-1; a list (or "3,5,8") names the seeds."""
    if isinstance(value, int) or (isinstance(value, str) and "," not in value):
        n = _int("seeds", value)
        if n > MAX_SEEDS:
            raise ConfigError(f"seeds must be <= {MAX_SEEDS:,}, got {n:,}")
        return tuple(range(n))
    out = tuple(_int("seed", v, minimum=0) for v in _list(value, key))
    if not out:
        raise ConfigError("seeds must name at least one seed")
    if len(set(out)) != len(out):
        raise ConfigError(f"seeds must not repeat, got {list(out)}")
    return out


def orders(key: str, value: Any) -> tuple[str, ...]:
    return _unique_nonempty("orders", [str(v).strip() for v in _list(value, key)])


def learning_rates(key: str, value: Any) -> tuple[float, ...]:
    return _unique_nonempty("lr", [_float("lr", v, 0.0, open_lo=True) for v in _list(value, key)])


def vary(key: str, value: Any) -> tuple[tuple[str, tuple], ...]:
    """Factors: ``FIELD=V1,V2,...`` strings (``--vary``, repeatable) or a table
    ``{field = [v1, v2]}`` (TOML ``[vary]``). Each level is checked by the field's own setting."""
    if isinstance(value, dict):
        items = [(str(k), v if isinstance(v, (list, tuple)) else [v]) for k, v in value.items()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = []
        for item in value:
            name, sep, levels = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(
                    f"--vary takes FIELD=V1,V2,..., got '{item}' (e.g. batch_size=8,32,128)"
                )
            items.append((name.strip(), _list(levels, f"--vary {name.strip()}")))
    elif isinstance(value, (list, tuple)) and all(
        isinstance(v, (list, tuple)) and len(v) == 2 for v in value
    ):
        items = [(str(k), list(v)) for k, v in value]
    else:
        raise ConfigError("vary must be a table of field = [levels] (or --vary FIELD=V1,V2)")
    out, seen = [], set()
    for name, levels in items:
        table, dot, key = name.strip().partition(".")
        # a param keeps its own spelling (it is a placeholder); every other name is normalised
        field = (f"params.{key}" if dot and table.lower() == "params"
                 else name.strip().lower().replace("-", "_"))
        if field in seen:
            raise ConfigError(f"vary names {field} twice; give all its levels in one --vary")
        seen.add(field)
        if field in ("orders", "seeds", "order", "seed"):
            raise ConfigError(f"{field} is already an axis of every grid; vary another setting")
        if table_factor(field) is not None:
            # a data set option, e.g. data_options.num_samples=1000,10000 (checked by the data
            # set's own options when the config is validated), or a param of a user's own run
            out.append((field, tuple(_unique_nonempty(f"--vary {field}", list(levels)))))
            seen.add(field)
            continue
        if field != "lr" and (field not in BY_NAME or BY_NAME[field].role != RUN):
            factors = [s.name for s in SETTINGS if s.role == RUN and s.name not in _NOT_FACTORS]
            raise ConfigError(
                f"cannot vary '{name}': not a setting of the run key"
                + did_you_mean(field, [*factors, "lr"])
            )
        if field in _NOT_FACTORS:
            hint = " (vary one option: data_options.NAME=V1,V2)" if field == "data_options" else ""
            raise ConfigError(f"cannot vary {field}{hint}; run one comparison per {field} instead")
        check = BY_NAME[field].check if field != "lr" else number(0.0, open_lo=True)
        if check is flag:  # --vary final_norm=true,false arrives as words
            levels = [
                _FLAG_WORDS.get(v.strip().lower(), v) if isinstance(v, str) else v for v in levels
            ]
        checked = [check(field, v) for v in levels]
        if len(checked) < 2:
            raise ConfigError(f"--vary {field} needs at least two levels, got {checked}")
        if len(set(map(str, checked))) != len(checked):
            raise ConfigError(f"--vary {field} repeats a level: {checked}")
        out.append((field, tuple(checked)))
    return tuple(out)


_NOT_FACTORS = ("data_options", "model", "probe")  # tables, user code, and what is recorded
TABLE_FACTORS = ("data_options", "params")  # a factor over one entry: params.width=8,16


def table_factor(field: str) -> tuple[str, str] | None:
    """(table, key) of a factor over one entry of a table setting (``params.width``), else
    None."""
    table, dot, key = field.partition(".")
    return (table, key) if dot and key and table in TABLE_FACTORS else None
seeds.metavar = "N|LIST"
vary.metavar = "FIELD=V1,V2"
learning_rates.metavar = "LR[,LR...]"
data_options.metavar = "KEY=VALUE"
orders.metavar = "SPEC"


# ---- the declaration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What a field's metadata holds besides its default: its check, its help and, where it has
    no effect for some configs, the predicate that says so (``applies``) and why
    (``not_applied``). ``omit_at_default``: added after stores existed, so left out of run keys at
    its default and the keys of runs stored before it do not change. ``runs``: which runs a run
    setting applies to: ``loop`` (the built-in loop's, such as ``arch``: no effect on a user's own
    training function or script, and left out of its keys), ``own`` (a user's run only, such as
    ``command``) or ``both`` (``epochs``, which a user's run reads as ``{epochs}``).
    ``matters``: where the value is in run keys (so that stored runs keep theirs) but changes
    nothing a run computes for some configs (SGD's momentum under Adam, the built-in
    architecture under a user's model): what a report's configuration leaves out."""

    check: Callable[[str, Any], Any]
    help: str
    omit_at_default: bool = False
    applies: Callable[[Any], bool] | None = None
    not_applied: str = ""
    runs: str = "loop"  # the runs it applies to: the built-in loop's, OWN (a user's), or BOTH
    matters: Callable[[Any], bool] | None = None


def setting(default: Any, check: Callable[[str, Any], Any], help: str, **meta: Any) -> Any:
    """A field of a settings part: its default, and its ``Meta`` as the field's metadata."""
    return field(default=default, metadata={"setting": Meta(check, help, **meta)})


def is_user_run(config: Any) -> bool:
    """Whether the runs are the user's own (a training function or a command), not the loop's."""
    return (getattr(config, "train", None) is not None
            or getattr(config, "command", None) is not None)


def train_target(key: str, value: Any) -> str | None:
    """A training function as a target string ``file.py:function`` or ``package.module:function``
    (a callable given in Python is registered as ``python:<name>@<fingerprint>``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"train must be a target string like train.py:train, got a {type(value).__name__};"
            " pass a callable to layerorder.compare(train=...) instead"
        )
    out = value.strip()
    if ":" not in out:
        raise ConfigError(
            f"train '{value}' must look like path/to/file.py:function or package.module:function"
        )
    return out


def command_template(key: str, value: Any) -> str | None:
    """A command line with placeholders ({order}, {seed}, {lr}, {params.NAME} or {NAME})."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("command must be a non-empty command line, e.g. 'python train.py"
                          " --order {order} --seed {seed}'")
    if any(ord(c) < 32 for c in value):
        raise ConfigError("command contains a control character; give one line")
    if len(value) > 4000:
        raise ConfigError("command must be at most 4000 characters; put the rest in a script")
    return value.strip()


def files(key: str, value: Any) -> tuple[str, ...]:
    return tuple(str(v).strip() for v in _list(value, key)) if value else ()


files.metavar = "FILE"


def _is_transformer(config: Any) -> bool:
    return config.model is None and takes_option(config.arch, "heads")


def _builds_arch(config: Any) -> bool:
    """Whether the runs build a built-in architecture (not a user's model)."""
    return config.model is None


def _is_sgd(config: Any) -> bool:
    return config.optimizer == "sgd"


def _is_adam(config: Any) -> bool:
    return config.optimizer in ("adam", "adamw")


def _takes_dropout_at(config: Any) -> bool:
    return config.model is None and takes_option(config.arch, "dropout_at")


def _probes(config: Any) -> bool:
    return bool(config.probe)


def _takes_final_norm(config: Any) -> bool:
    return config.model is None and takes_option(config.arch, "final_norm")


def _has_dropout(config: Any) -> bool:
    """Built-in architectures take ``p_drop`` where they have dropout; users' models keep
    their own."""
    return config.model is None and uses_dropout(config.arch, config.dropout_at)


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """What a run is, besides its order, seed and learning rate: data, model and training. Each
    field is part of the run key wherever it has an effect."""

    dataset: str = setting("mnist1d", text, "Data set; see 'layerorder datasets'.")
    data_options: tuple[tuple[str, Any], ...] = setting(
        (), data_options, "Data set option KEY=VALUE (repeatable)."
    )
    arch: str = setting("cnn1d", lowered, "mlp, cnn1d, cnn2d, resnet, transformer or rnn.",
                        matters=_builds_arch)
    model: str | None = setting(
        None,
        model_target,
        "Your own model, path/to/file.py:factory or package.module:factory, rewritten to each"
        " --order ('as-is' keeps it unchanged); keyword arguments for the factory in parentheses:"
        " 'timm:resnet18(in_chans=1, num_classes=10)'. Loading it runs its code.",
    )
    width: int | None = setting(None, integer(optional=True, maximum=65_536),
                                "Model width; none: per arch.",
                                matters=_builds_arch)
    heads: int | None = setting(
        None,
        integer(optional=True, maximum=1024),
        "Attention heads of --arch transformer; none: 4.",
        omit_at_default=True,
        applies=_is_transformer,
        not_applied="has no attention heads (only --arch transformer has)",
    )
    depth: int | None = setting(None, integer(optional=True, maximum=10_000),
                                "Model depth; none: per arch.",
                                matters=_builds_arch)
    epochs: int = setting(
        20, integer(maximum=100_000), "Training epochs per run ({epochs} in --command,"
        " trial.epochs).", runs=BOTH
    )
    batch_size: int = setting(100, integer(maximum=10_000_000), "Batch size.")
    optimizer: str = setting("adam", choice(OPTIMIZERS), "sgd, adam or adamw.")
    warmup: float = setting(
        0.0,
        number(0.0, most=1e9),
        "Linear learning-rate warmup before --schedule cosine, step or constant: a number of"
        " steps (>= 1) or a fraction of all steps (< 1); 0: none (onecycle warms up by itself)."
        " Post-LN Transformers are said to need it (Xiong et al. 2020).",
        omit_at_default=True,
    )
    schedule: str = setting("onecycle", choice(SCHEDULES), "onecycle, cosine, step or constant.")
    weight_decay: float = setting(0.0, number(0.0), "Weight decay.")
    momentum: float = setting(0.9, number(0.0, 1.0), "SGD momentum.", matters=_is_sgd)
    nesterov: bool = setting(
        False,
        flag,
        "Nesterov momentum for SGD (He et al. 2016's ResNets use it).",
        omit_at_default=True,
        applies=_is_sgd,
        not_applied="applies to SGD only",
    )
    beta2: float = setting(
        0.999,
        number(0.0, 1.0),
        "Adam's second-moment decay (0.98 in Transformer training, Vaswani et al. 2017).",
        omit_at_default=True,
        applies=_is_adam,
        not_applied="applies to Adam and AdamW only",
    )
    adam_eps: float = setting(
        1e-8,
        number(0.0, open_lo=True),
        "Adam's epsilon, added to the root of the second moment (1e-9 in Vaswani et al. 2017,"
        " §5.3).",
        omit_at_default=True,
        applies=_is_adam,
        not_applied="applies to Adam and AdamW only",
    )
    label_smoothing: float = setting(0.0, number(0.0, 1.0), "Label smoothing.")
    grad_clip: float = setting(
        0.0,
        number(0.0),
        "Clip the gradients' global L2 norm to this value before each step (0: off).",
        omit_at_default=True,
    )
    p_drop: float = setting(
        DEFAULT_P_DROP,
        number(0.0, 1.0),
        "Dropout probability.",
        applies=_has_dropout,
        not_applied="has no dropout option (resnet without --dropout-at, and --model models keep"
        " their own)",
    )
    dropout_at: str = setting(
        "none",
        choice(RESNET_DROPOUT_AT),
        "Where --arch resnet puts dropout: none (He et al.'s units), branch (before each BN of"
        " every unit's branch, Li et al. 2019's placement) or head (before the classifier).",
        omit_at_default=True,
        applies=_takes_dropout_at,
        not_applied="applies to --arch resnet only",
    )
    final_norm: bool = setting(
        True,
        flag,
        "The final norm and activation a pre-activation order (bn-relu-conv) gets after the last"
        " block of --arch mlp, cnn1d or cnn2d, as in PreAct-ResNet; --no-final-norm: the head"
        " reads the last weight layer's raw output. Post-activation orders have none either way.",
        omit_at_default=True,
        applies=_takes_final_norm,
        not_applied="applies to --arch mlp, cnn1d and cnn2d only",
    )
    probe: bool = setting(
        False, flag, "Record stage statistics, gradient flow and BN variance shift (at init, the"
        " last epoch and every --probe-every epochs)."
    )
    probe_every: int = setting(
        PROBE_EVERY,
        integer(minimum=1, maximum=100_000),
        "With --probe: the epochs between probes (init and the last epoch are always probed);"
        " 1: every epoch. Probing leaves training unchanged; fewer probes cost less time.",
        omit_at_default=True,
        applies=_probes,
        not_applied="applies with --probe only",
    )
    train: str | None = setting(
        None,
        train_target,
        "Your own training function as the run, path/to/file.py:function or"
        " package.module:function: it gets a trial (order, seed, params, device, report()) and"
        " returns its metrics. Loading it runs its code.",
        omit_at_default=True,
        runs=OWN,
    )
    command: str | None = setting(
        None,
        command_template,
        "Your own script as the run: a command line with placeholders {order}, {seed}, {lr},"
        " {epochs} and {NAME} for each --param and varied param; it reports metrics through"
        " layerorder.trial() or JSON lines in $LAYERORDER_METRICS (docs/trials.md).",
        omit_at_default=True,
        runs=OWN,
    )
    params: tuple[tuple[str, Any], ...] = setting(
        (),
        name_values,
        "A parameter KEY=VALUE of your run (repeatable): trial.params, and {KEY} in --command.",
        omit_at_default=True,
        runs=OWN,
    )
    code_version: str | None = setting(
        None,
        optional_text,
        "A version of your run's code, part of its run keys: change it when the code changes in"
        " a way --watch does not see.",
        omit_at_default=True,
        runs=OWN,
    )
    amp: bool = setting(
        False,
        flag,
        "bfloat16 autocast of forward and loss (changes results: part of the run key).",
        omit_at_default=True,
    )
    # derived, not a setting: the fingerprint of a user's run's code (``--watch`` files, the
    # command's script, a train= target's file), part of the run key where there is one
    code_hash: str | None = None


@dataclass(frozen=True, kw_only=True)
class Grid:
    """The axes of a comparison's grid: orders x seeds x learning rates x the varied factors'
    levels."""

    orders: tuple[str, ...] = setting(
        DEFAULT_ORDERS, orders, "Order spec or preset (repeatable or comma-separated); none:"
        " the CNN presets, or with --arch resnet, transformer or rnn that architecture's own five."
    )
    seeds: tuple[int, ...] = setting(
        (0, 1, 2, 3, 4),
        seeds,
        "Number of seeds, or a list like 0,3,7 (with --until-decided: the first round).",
    )
    vary: tuple[tuple[str, tuple[Any, ...]], ...] = setting(
        (),
        vary,
        "A factor FIELD=V1,V2,... (repeatable): train the grid at every level of that run-key"
        " setting (batch_size=8,32,128; p_drop=0.1,0.5; depth; lr; dataset ...) and test where"
        " the effect of the order changes.",
    )
    lr: tuple[float, ...] = setting(
        (0.01,), learning_rates, "Learning rate, or a comma-separated LR sweep."
    )


@dataclass(frozen=True, kw_only=True)
class ExecutionSettings:
    """How runs execute: never part of a run key."""

    name: str = setting("default", text, "Experiment name.")
    compile: bool = setting(
        False,
        flag,
        "torch.compile each model; measure first (on small CPU models it seldom gains).",
    )
    device: str = setting("auto", choice(DEVICES), "auto, cpu or cuda.")
    executor: str = setting(
        "auto", choice(EXECUTORS),
        join_names([f"{k.name} ({k.help})" if k.help else k.name for k in EXECUTOR_KINDS],
                   "or") + ".",
    )
    stack_mode: str = setting(
        "auto", choice(STACK_MODES),
        "How --executor stacked or stacked-pool trains a stack of seeds: exact (each seed's own"
        " convolution and linear calls: the runs equal those trained alone, bit for bit on the"
        " CPU), batched (one grouped call for all seeds: equal to rounding) or auto (exact on"
        " the CPU, batched on a GPU).",
    )
    workers: int | None = setting(
        None, integer(optional=True, maximum=4096),
        "Worker processes for --executor process or stacked-pool, or SLURM array tasks for"
        " --executor slurm; none: one per core (slurm: one per run, at most 16; auto on several"
        " GPUs and stacked-pool on CUDA: one per GPU)."
    )
    slurm_partition: str | None = setting(
        None, optional_text, "SLURM partition for --executor slurm; none: the cluster's default."
    )
    slurm_minutes: int = setting(
        60, integer(minimum=1, maximum=30 * 24 * 60),
        "Time limit of each SLURM array task, in minutes; a worker stopped at the limit hands"
        " its run back.",
    )
    slurm_cluster: str = setting(
        "slurm", choice(SLURM_CLUSTERS),
        "Where --executor slurm submits: slurm (sbatch), or local (the same jobs as processes"
        " on this machine, through submitit, to try a set-up without a cluster).",
    )
    ray_address: str | None = setting(
        None,
        optional_text,
        "Ray cluster to use with --executor ray; none: RAY_ADDRESS, or a local Ray.",
    )
    cpus_per_run: float = setting(1.0, number(0.0, most=4096),
                                  "CPUs per run on Ray (fractions allowed).")
    gpus_per_run: float = setting(0.0, number(0.0, most=4096),
                                  "GPUs per run on Ray (fractions allowed).")
    max_retries: int = setting(2, integer(minimum=0, maximum=100),
                               "Retries of a Ray task whose worker died.")
    run_timeout: float | None = setting(
        None,
        optional_number(0.0, open_lo=True, most=30 * 86_400),  # a month
        "Seconds a --command run may take; one that takes longer is killed with its whole"
        " process group and counted as failed. None: no limit.",
    )
    watch: tuple[str, ...] = setting(
        (),
        files,
        "Files whose contents identify your run's code (repeatable): an edit gives new run keys,"
        " so the edited code is trained afresh. None: the files the --command names (such as"
        " train.py in 'python train.py'), or the file of a train= target.",
    )
    lease: float = setting(
        60.0,
        number(2.0, most=86_400),  # a day: past it a lost driver's runs wait that long
        "Seconds a claimed run stays reserved without a heartbeat; the driver renews its runs'"
        " leases every lease/4 s. Another driver (on any host) takes over a run whose lease"
        " expired, e.g. when its machine froze or was lost.",
    )
    max_runs: int = setting(
        10_000,
        integer(maximum=100_000_000),
        "Refuse a grid of more runs than this (orders x seeds x learning rates x factor levels):"
        " a typo guard; raise it for a sweep that big.",
    )


@dataclass(frozen=True, kw_only=True)
class AnalysisSettings:
    """How a grid's runs are analysed: never part of a run key."""

    margin: float | None = setting(
        None,
        optional_number(0.0, open_lo=True),
        "Equivalence margin in the metric's units: a pair whose paired TOST puts the difference"
        f" inside +-margin is 'equivalent'. None: {DEFAULT_MARGIN:g} points for test accuracy"
        " (about the seed-to-seed SD of the built-in setups, and less than most readers would act"
        " on), and no equivalence test for any other metric; set your own.",
    )
    metric: str | None = setting(
        None,
        optional_metric_name,
        "The metric compared: test_acc (final test accuracy, %), test_loss or train_loss of the"
        " built-in loop, or one your --command or train function reports (required there)."
        " None: test_acc.",
    )
    goal: str | None = setting(
        None,
        optional_choice(GOALS),
        "max or min: whether higher or lower --metric values are better; none: max, and min for"
        " test_loss and train_loss. A metric named like a loss or an error needs it said.",
    )
    metric_range: tuple[float, float] | None = setting(
        None,
        value_range,
        "LO,HI: the values --metric can take; confidence intervals are clipped to it. None:"
        " 0,100 for test_acc, unclipped for any other metric.",
    )
    baseline: str | None = setting(
        None,
        optional_text,
        "Compare each order with this one only (k-1 tests: more power for 'is my order better"
        " than the standard one?'); none: every pair.",
    )
    until_decided: bool = setting(
        False,
        flag,
        "Train seeds in rounds (the --seeds count each) and stop once every pair is different or"
        " equivalent, or at --max-seeds; O'Brien-Fleming alpha spending keeps the false-positive"
        " rate at 0.05 over the looks.",
    )
    max_seeds: int = setting(20, integer(minimum=2, maximum=MAX_SEEDS),
                             "Most seeds per order with --until-decided.")


# the parts of a config and the role of their fields, in the order the config lists them
PARTS: tuple[tuple[type, str], ...] = (
    (RunSettings, RUN),
    (Grid, AXIS),
    (ExecutionSettings, EXECUTION),
    (AnalysisSettings, ANALYSIS),
)


@dataclass(frozen=True)
class Setting:
    """One field of a part, read back from its declaration: its name, default, role and
    ``Meta``."""

    name: str
    default: Any
    role: str
    meta: Meta
    annotation: str = "Any"  # the field's declared type, as written (``tuple[str, ...]``)

    @property
    def check(self) -> Callable[[str, Any], Any]:
        return self.meta.check

    @property
    def help(self) -> str:
        return self.meta.help

    @property
    def applies(self) -> Callable[[Any], bool] | None:
        return self.meta.applies

    @property
    def not_applied(self) -> str:
        return self.meta.not_applied

    @property
    def metavar(self) -> str:
        return getattr(self.check, "metavar", "TEXT")

    def coerce(self, value: Any) -> Any:
        return self.check(self.name, value)

    def matters(self, config: Any) -> bool:
        """Whether the value changes what a run of ``config`` computes: in its run key, and not
        a value its runs ignore (``Meta.matters``); a report's configuration shows these."""
        check = self.meta.matters
        return self.in_key(config) and (check is None or check(config))

    def in_key(self, config: Any) -> bool:
        if self.role != RUN:
            return False
        if self.meta.runs == (LOOP if is_user_run(config) else OWN):  # not a setting of its runs
            return False
        if self.meta.omit_at_default and _at_default(getattr(config, self.name), self.default):
            return False
        return self.applies is None or self.applies(config)


def _at_default(value: Any, default: Any) -> bool:
    """An empty table or list (a run config holds tables in their JSON form) is an empty
    default."""
    if isinstance(default, tuple) and not default:
        return not value
    return value == default


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, role, f.metadata["setting"], str(f.type))
    for part, role in PARTS
    for f in fields(part)
    if "setting" in f.metadata  # code_hash is derived, never set
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def format_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return ", ".join(format_default(v) for v in value) if value else "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
