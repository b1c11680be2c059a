import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.configuration.config import (
    DEFAULT_ORDERS,
    ExperimentConfig,
    load_toml,
    make_config,
    merge_config,
)


def test_defaults_are_the_embedded_default():
    cfg = ExperimentConfig()
    assert cfg.dataset == "mnist1d" and cfg.arch == "cnn1d"
    assert cfg.orders == DEFAULT_ORDERS and cfg.seeds == (0, 1, 2, 3, 4)
    assert len(cfg.runs()) == 25
    assert {r.order for r in cfg.runs()} == set(DEFAULT_ORDERS)


def test_grid_is_seed_major_and_keys_exclude_execution():
    cfg = make_config({"orders": "standard,preact", "seeds": 2, "lr": "0.01,0.1"})
    runs = cfg.runs()
    assert [(r.lr, r.seed, r.order) for r in runs[:3]] == [
        (0.01, 0, "standard"),
        (0.01, 0, "preact"),
        (0.01, 1, "standard"),
    ]
    assert "device" not in runs[0].to_dict() and "name" not in runs[0].to_dict()


@pytest.mark.parametrize(
    "values,fragment",
    [
        ({"seeds": 0}, "seeds must be >= 1"),
        ({"seeds": "abc"}, "seeds must be an integer"),
        ({"seeds": "1,1"}, "must not repeat"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"epochs": "x"}, "epochs must be an integer"),
        ({"lr": -0.1}, "lr must be a number > 0"),
        ({"lr": "0.01,nan"}, "lr must be a number"),
        ({"lr": 0}, "lr must be a number > 0"),
        ({"optimizer": "adm"}, "did you mean 'adam'"),
        ({"schedule": "cosin"}, "did you mean 'cosine'"),
        ({"device": "tpu"}, "unknown device"),
        ({"p_drop": 1.0}, "p_drop must be a number >= 0 and < 1"),
        ({"momentum": -1}, "momentum"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"epoch": 3}, "unknown key 'epoch' in options; did you mean 'epochs'?"),
        ({"orders": []}, "orders must not be empty"),
        ({"name": ""}, "name must be"),
        ({"data_options": 3}, "data_options must be a table"),
    ],
)
def test_bad_values(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        make_config(values)


def test_toml_and_flag_override(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        'name = "mine"\norders = ["standard", "preact"]\nseeds = [0, 2]\nepochs = 3\n'
        "lr = [0.01, 0.1]\n[data_options]\nnum_samples = 1000\n"
    )
    cfg = merge_config(load_toml(path), {"epochs": 5, "name": None}, f"'{path}'")
    assert cfg.name == "mine" and cfg.epochs == 5 and cfg.seeds == (0, 2)
    assert cfg.lr == (0.01, 0.1) and dict(cfg.data_options) == {"num_samples": 1000}


def test_toml_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("epoch = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'epoch' in 'x'; did you mean 'epochs'"):
        merge_config(load_toml(unknown), {}, "'x'")


@pytest.mark.parametrize("arch", ["resnet", "transformer", "rnn"])
def test_an_architecture_with_orders_of_its_own_compares_them_when_none_are_given(arch):
    from layerorder.archs import ARCH_DEFAULT_ORDERS
    from layerorder.models import check_order_for_arch

    config = make_config({"arch": arch})
    assert config.orders == ARCH_DEFAULT_ORDERS[arch] and len(config.orders) == 5
    for order in config.orders:  # each one a valid order of that architecture
        check_order_for_arch(arch, order)
    # given orders, a user's model or a user's run keep theirs
    assert make_config({"arch": arch, "orders": "no-norm"}).orders == ("no-norm",)
    assert make_config({"arch": "cnn1d"}).orders == DEFAULT_ORDERS
    assert make_config({}).orders == DEFAULT_ORDERS
    own = make_config({"arch": arch, "command": "python t.py {order}", "metric": "m"})
    assert own.orders == DEFAULT_ORDERS

