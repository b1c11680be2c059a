"""Factors (--vary / [vary]): the grid, run keys, the experiment's identity and the checks."""

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.runner import run_specs
from layerorder.experiment.validate import validate


def test_the_grid_is_the_product_and_each_run_carries_its_level():
    cfg = make_config({"orders": "standard,act-first", "seeds": 2,
                       "vary": ["batch_size=8,32,128"]})
    runs = cfg.runs()
    assert len(runs) == 2 * 2 * 3 and cfg.factors == ("batch_size",) and cfg.n_conditions == 3
    assert [(r.seed, r.batch_size, r.order) for r in runs[:4]] == [
        (0, 8, "standard"), (0, 8, "act-first"), (0, 32, "standard"), (0, 32, "act-first"),
    ]
    keys = {s.run_key for s in run_specs(cfg)}
    assert len(keys) == 12  # every level is its own run


def test_toml_table_and_flags_give_the_same_runs():
    flags = make_config({"vary": ["p_drop=0.1,0.5", "depth=2,4"], "seeds": 1})
    table = make_config({"vary": {"p_drop": [0.1, 0.5], "depth": [2, 4]}, "seeds": 1})
    assert flags.vary == table.vary == (("p_drop", (0.1, 0.5)), ("depth", (2, 4)))
    assert [r.to_dict() for r in flags.runs()] == [r.to_dict() for r in table.runs()]


def test_another_level_or_more_seeds_keep_the_experiment():
    """The store names an experiment by its grid: the varied fields, not their levels."""
    few = make_config({"vary": ["batch_size=8,32"], "seeds": 2})
    more = make_config({"vary": ["batch_size=8,32,128"], "seeds": 5})
    assert few.grid() == more.grid() and few.grid()["vary"] == ["batch_size"]
    assert "batch_size" not in few.grid()
    assert {s.run_key for s in run_specs(few)} < {s.run_key for s in run_specs(more)}
    assert make_config({}).grid() == make_config({"seeds": 9}).grid()
    assert "vary" not in make_config({}).grid()


def test_a_data_set_option_is_a_factor_and_every_combination_is_checked():
    cfg = make_config({"dataset": "synthetic", "data_options": ["noise=0.1"], "seeds": 1,
                       "orders": "standard", "vary": ["data_options.num_samples=300,600"]})
    assert [r.data_options for r in cfg.runs()] == [
        {"noise": "0.1", "num_samples": "300"}, {"noise": "0.1", "num_samples": "600"},
    ]
    assert cfg.grid()["data_options"] == {"noise": "0.1"}
    validate(cfg)
    both = make_config({"dataset": "synthetic", "vary": ["data_options.num_samples=300,600",
                                                         "dataset=synthetic,digits"]})
    with pytest.raises(Exception, match="data set 'digits' has none"):
        validate(both)


def test_varied_lr_is_a_condition_not_a_tuning_sweep():
    cfg = make_config({"vary": ["lr=0.001,0.01"], "seeds": 1, "orders": "standard"})
    assert [r.lr for r in cfg.runs()] == [0.001, 0.01]
    with pytest.raises(ConfigError, match="ambiguous"):
        validate(make_config({"vary": ["lr=0.001,0.01"], "lr": "0.1,0.2"}))


@pytest.mark.parametrize(
    "vary,fragment",
    [
        (["batchsize=8,32"], "did you mean 'batch_size'"),
        (["orders=a,b"], "already an axis"),
        (["batch_size=8"], "at least two levels"),
        (["batch_size=8,8"], "repeats a level"),
        (["batch_size=8,x"], "batch_size must be an integer"),
        (["batch_size"], "FIELD=V1,V2"),
        (["model=a,b"], "cannot vary model"),
        (["p_drop=0.1,0.2", "p_drop=0.3,0.4"], "twice"),
    ],
)
def test_bad_factors_are_one_line_errors(vary, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_config({"vary": vary})


def test_checks_that_need_the_whole_config():
    with pytest.raises(ConfigError, match="has no dropout option"):
        validate(make_config({"arch": "resnet", "vary": ["p_drop=0.1,0.5"]}))
    with pytest.raises(ConfigError, match="not one of the orders.*did you mean 'standard'"):
        validate(make_config({"orders": "standard,preact", "baseline": "standrd"}))
    with pytest.raises(ConfigError, match="max-seeds 3 is less"):
        validate(make_config({"until_decided": True, "seeds": 5, "max_seeds": 3}))
    with pytest.raises(ConfigError, match="factor levels"):
        validate(make_config({"vary": ["depth=1,2,3,4,5"], "max_runs": 100}))
