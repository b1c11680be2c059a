"""The order space of an experiment's own model: the base read from a user's model, merges
confirmed by running the model (a user's AlphaDropout is not merged with ReLU as dropout is),
no-op stages merged where the model computes the same function, the caller's RNG untouched."""

import pytest
import torch
from torch import nn

from layerorder.api import make_experiment
from layerorder.errors import ConfigError
from layerorder.models import build_model
from layerorder.search import SameFunction, experiment_space, model_base
from tests.helpers import run_cli

MODELS = '''
from torch import nn

def block(drop):
    return [nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(), drop(0.3)]

def alpha():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
                         nn.AlphaDropout(0.3), *block(nn.AlphaDropout), nn.Linear(32, 10))

def plain():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(),
                         nn.Dropout(0.3), *block(nn.Dropout), nn.Linear(32, 10))

def alpha_zero_head():
    """A zero-initialised head makes every spelling output zeros at init."""
    model = alpha()
    nn.init.zeros_(model[-1].weight)
    nn.init.zeros_(model[-1].bias)
    return model

def drawn():
    """A factory that draws from the global RNG."""
    import torch
    torch.rand(1)
    return plain()

def linear_only():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Linear(32, 10))
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "nets.py"
    path.write_text(MODELS)
    return lambda name: f"{path}:{name}"


def model_config(target: str, base: str):
    return make_experiment({"model": target, "dataset": "digits", "orders": (base,)},
                           notes=lambda _: None)


def test_the_base_is_the_models_own_block_order(models):
    assert model_base(models("plain")) == ("linear-bn-relu-drop", 2, 3)
    with pytest.raises(ConfigError, match="give --base"):
        model_base(models("linear_only"))


def test_alpha_dropout_is_not_merged_with_relu(models):
    """Lint spells AlphaDropout 'drop'; the rule would merge relu-drop with drop-relu. Running
    the model keeps them apart, and plain torch agrees that they differ."""
    plain = experiment_space(model_config(models("plain"), "linear-bn-relu-drop"))
    alpha = experiment_space(model_config(models("alpha"), "linear-bn-relu-drop"))
    assert plain.base == alpha.base == "linear-bn-relu-drop"
    assert len(plain.candidates) == 18 and plain.merged == 6
    assert len(alpha.candidates) == 24 and alpha.merged == 0
    # the check draws its own weights: a zero head (equal outputs at init) hides nothing
    zero = experiment_space(model_config(models("alpha_zero_head"), "linear-bn-relu-drop"))
    assert zero.merged == 0
    assert ("linear-bn-drop-relu",) == next(c for c in plain.candidates
                                            if c.spec == "linear-bn-relu-drop").same_as
    x = torch.randn(64, 32)
    drop = nn.AlphaDropout(0.3).train()
    torch.manual_seed(1)
    relu_first = drop(torch.relu(x))
    torch.manual_seed(1)
    assert not torch.equal(relu_first, torch.relu(drop(x)))


def reference(spec: str, x: torch.Tensor, state=None):
    """The plain model builder's parameters and outputs (with the weights ``state`` when given),
    independent of ``SameFunction``."""
    torch.manual_seed(0)
    model = build_model("cnn2d", spec, in_shape=(1, 8, 8), num_classes=10, width=8, depth=1,
                        p_drop=0.3)
    if state is not None:
        model.load_state_dict(state)
    weights = {k: v.clone() for k, v in model.state_dict().items()}  # before BN updates them
    torch.manual_seed(1)
    return weights, model.train()(x), model.eval()(x)


def test_no_op_stages_merge_only_where_the_model_is_the_same():
    config = make_experiment({"arch": "cnn2d", "dataset": "digits", "width": 8, "depth": 1,
                              "p_drop": 0.3, "orders": ("standard",)}, notes=lambda _: None)
    space = experiment_space(config, acts=("relu", "identity"))
    by_spec = {c.spec: c for c in space.candidates}
    merged = {other: c.spec for c in space.candidates for other in c.same_as}
    # identity before the conv or after the norm: the same network
    assert merged["identity-conv-bn-drop"] == "conv-bn-drop-identity"
    # identity between conv and BatchNorm gives the conv a bias: another network
    assert "conv-identity-bn-drop" in by_spec and "conv-identity-bn-drop" not in merged
    # pre-activation is post-activation here: the first block starts at its conv, a final ReLU
    # follows the last, and ReLU commutes with dropout and max-pooling in between
    assert merged["relu-conv-bn-drop"] == "conv-bn-relu-drop"
    x = torch.randn(4, 1, 8, 8)
    for candidate in space.candidates:
        state, train, evaluated = reference(candidate.spec, x)
        for other in candidate.same_as:  # the same weights give the same outputs, bit for bit
            _, t, e = reference(other, x, state)
            assert torch.equal(t, train) and torch.equal(e, evaluated), other
    for a, b in [("conv-relu-bn-drop", "conv-drop-relu-bn"), ("bn-relu-conv-drop",
                                                             "bn-drop-relu-conv")]:
        state, train, _ = reference(a, x)  # unmerged: other outputs from the same weights
        assert not torch.equal(reference(b, x, state)[1], train)
    state = reference("conv-identity-bn-drop", x)[0]
    assert list(state) != list(reference("conv-bn-drop-identity", x)[0])  # the conv's bias


def test_the_check_leaves_the_callers_rng_alone(models):
    config = make_experiment({"arch": "mlp", "dataset": "digits", "width": 8, "depth": 1,
                              "orders": ("linear-relu",)}, notes=lambda _: None)
    from layerorder.experiment.execution.runner import load_checked_data

    same = SameFunction(config.runs()[0], load_checked_data(config))
    user = model_config(models("drawn"), "linear-bn-relu-drop")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    assert not same("linear-relu", "linear-tanh")
    # a pre-activation MLP starts its first block at the weight layer and ends with a ReLU:
    # with no other stage, relu-linear builds the very network linear-relu does
    assert same("linear-relu", "relu-linear")
    model_base(models("drawn"))
    experiment_space(user)
    assert torch.equal(torch.get_rng_state(), before)


def test_model_layers_cannot_be_swapped_for_other_kinds(models, capsys, tmp_path):
    code, out, err = run_cli(capsys, "search", "--model", models("plain"), "--dataset", "digits",
                             "--norms", "bn,gn", "--dry-run")
    assert code == 2 and "--norms cannot change the layers of --model" in err
    code, out, err = run_cli(capsys, "search", "--model", models("plain"), "--dataset", "digits",
                             "--epochs", "2", "--dry-run")
    assert code == 0, err
    assert "--base linear-bn-relu-drop: the order of 2 of the model's 3 blocks" in err
    assert "18 candidate orders from linear-bn-relu-drop, 6 spellings merged" in " ".join(
        out.split())
    toml = tmp_path / "search.toml"  # the model from a settings file: the base is still its own
    toml.write_text(f'model = "{models("plain")}"\ndataset = "digits"\nepochs = 2\n')
    code, out, err = run_cli(capsys, "search", "--config", toml, "--dry-run")
    assert code == 0, err
    assert "--base linear-bn-relu-drop" in err and "18 candidate orders" in out


def test_a_transformer_searches_its_norm_placements(capsys):
    """Every placement of the transformer is a candidate; none is merged (each is another
    network, checked by running it); arranging stages is refused."""
    config = make_experiment({"arch": "transformer", "dataset": "brackets", "width": 16,
                              "depth": 1, "heads": 2, "orders": ("pre-ln",)},
                             notes=lambda _: None)
    space = experiment_space(config)
    assert len(space.candidates) == 10 and space.merged == 0
    code, out, err = run_cli(capsys, "search", "--arch", "transformer", "--dataset", "brackets",
                             "--width", "16", "--depth", "1", "--heads", "2", "--norms",
                             "ln,rmsnorm", "--dry-run")
    assert code == 0, err
    assert "6 candidate orders from transformer" in out and "sandwich-rmsnorm" in out
    code, _, err = run_cli(capsys, "search", "--arch", "transformer", "--dataset", "brackets",
                           "--base", "pre-ln", "--dry-run")
    assert code == 2 and "takes a named order" in err
    # a block order as --base: the same reason, not a complaint about the order's name
    code, _, err = run_cli(capsys, "search", "--arch", "resnet", "--depth", "8", "--base",
                           "bn-relu-conv", "--dry-run")
    assert code == 2 and "--base arranges block stages, but resnet takes a named order" in err
