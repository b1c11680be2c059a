"""Pooling in the lint: ``act-before-maxpool`` fires where pooling first gives the same output
(never for GELU, SiLU or Mish), ``rewrite --pool-first`` applies it with an equal output, and the
census counts patterns that include pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from layerorder.lint import lint_any, lint_model, rewrite_model
from layerorder.models import build_model
from tests.helpers import run_cli


def vgg(act: nn.Module | None = None) -> nn.Module:
    """VGG-style: conv -> ReLU -> max-pool, twice."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        act or nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 8 * 8, 10),
    )


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.conv(x)), 2)


class Branching(nn.Module):
    """The ReLU's output is also read elsewhere: the pool cannot simply go first."""

    def __init__(self):
        super().__init__()
        self.conv, self.relu, self.pool = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)

    def forward(self, x):
        y = self.relu(self.conv(x))
        return self.pool(y).sum() + y.mean()


def _found(model, shape=None):
    report = lint_model(model, input_shape=shape)
    return [f for f in report.findings if f.rule == "act-before-maxpool"]


def test_fires_on_vgg_style_with_the_elements_saved():
    found = _found(vgg(), (1, 3, 32, 32))
    assert [f.path for f in found] == ["1", "4"]
    # ReLU on 8x32x32 = 8192 elements, max-pool output 8x16x16 = 2048: 6144 saved
    assert "6,144 fewer activation evaluations per forward pass" in found[0].message
    assert "3,072 fewer" in found[1].message
    assert "4x fewer" in _found(vgg())[0].message  # without a shape: the pool's factor


@pytest.mark.parametrize(
    "act,fires",
    [
        (nn.GELU(), False),
        (nn.SiLU(), False),
        (nn.Mish(), False),
        (nn.LeakyReLU(-0.2), False),
        (nn.LeakyReLU(0.1), True),
        (nn.Tanh(), True),
        (nn.ReLU6(), True),
        (nn.ELU(), True),
        (nn.ELU(alpha=-0.5), False),  # alpha < 0: its negative side falls
        (nn.CELU(alpha=-0.5), True),  # alpha * (exp(x / alpha) - 1) rises either way
    ],
)
def test_only_non_decreasing_activations(act, fires):
    paths = [f.path for f in _found(vgg(act))]
    assert ("1" in paths) is fires and "4" in paths


def test_prelu_fires_only_while_its_slopes_are_non_negative():
    model = vgg(nn.PReLU(8))
    assert "1" in [f.path for f in _found(model)]
    with torch.no_grad():
        model[1].weight[3] = -0.5
    assert "1" not in [f.path for f in _found(model)]


def test_rrelu_fires_only_while_its_random_slopes_are_non_negative():
    """RReLU draws its slopes from [lower, upper]: as a module or as F.rrelu with plain-number
    bounds, it commutes with the max-pool only while both are >= 0."""
    assert "1" in [f.path for f in _found(vgg(nn.RReLU()))]
    assert "1" not in [f.path for f in _found(vgg(nn.RReLU(-0.1, 0.3)))]

    class Functional(nn.Module):
        def __init__(self, lower):
            super().__init__()
            self.conv, self.pool, self.lower = nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), lower

        def forward(self, x):
            return self.pool(F.rrelu(self.conv(x), self.lower, 0.3))

    assert len(_found(Functional(0.1))) == 1
    assert _found(Functional(-0.1)) == []


class Calls(nn.Module):
    """conv -> an activation called as a function, with this module's ``weight`` -> max-pool."""

    def __init__(self, act):
        super().__init__()
        self.conv, self.pool, self.act = nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), act
        self.weight = nn.Parameter(torch.full((8,), 0.25))

    def forward(self, x):
        return self.pool(self.act(self.conv(x), self.weight))


@pytest.mark.parametrize("mode", ["fx", "hooks"])
def test_a_called_activation_fires_as_its_arguments_allow(mode):
    """F.elu's alpha is read in either mode; F.prelu's weight, a tensor, where the call was run
    (hooks) and, where it was traced (fx), from the module attribute the graph reads."""

    def fires(model) -> bool:
        report = lint_model(model, input_shape=(1, 3, 12, 12), mode=mode)
        return any(f.rule == "act-before-maxpool" for f in report.findings)

    assert fires(Calls(lambda x, w: F.elu(x, 0.5)))
    assert not fires(Calls(lambda x, w: F.elu(x, -0.5)))
    prelu = Calls(F.prelu)
    assert fires(prelu)
    with torch.no_grad():
        prelu.weight[2] = -0.1
    assert not fires(prelu)


def test_a_traced_prelu_on_the_meta_device_is_linted_without_its_values():
    """A meta model's weight has no values: the call is read as a PReLU of unknown slopes (not
    known to be monotone), and the lint does not fail."""
    with torch.device("meta"):
        model = Calls(F.prelu)
    report = lint_model(model, mode="fx")
    assert not any(f.rule == "act-before-maxpool" for f in report.findings)


def test_any_padding_of_zeros_counts():
    """nn.ConstantPad2d(value=0) and F.pad's constant mode with 0 pad with zeros, as
    nn.ZeroPad2d does: a tanh, which keeps 0, commutes with them and the pool. A pad of ones does
    not commute with it (tanh(1) != 1, checked on numbers) and is not walked through."""

    class Called(nn.Module):
        def __init__(self, **pad):
            super().__init__()
            self.conv, self.pad = nn.Conv2d(1, 2, 3), pad

        def forward(self, x):
            return F.max_pool2d(F.pad(torch.tanh(self.conv(x)), (1, 1, 1, 1), **self.pad), 2)

    def fires(model) -> bool:
        return any(f.rule == "act-before-maxpool" for f in lint_model(model).findings)

    def module(pad):
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), pad, nn.MaxPool2d(2))

    assert fires(module(nn.ConstantPad2d(1, 0.0))) and fires(module(nn.ZeroPad2d(1)))
    assert fires(Called()) and fires(Called(value=0.0)) and fires(Called(mode="constant"))
    assert not fires(module(nn.ConstantPad2d(1, 1.0))) and not fires(Called(value=1.0))
    x, ones, zeros = torch.randn(2, 1, 9, 9), nn.ConstantPad2d(1, 1.0), nn.ZeroPad2d(1)
    assert torch.equal(F.max_pool2d(zeros(x.tanh()), 2), F.max_pool2d(zeros(x), 2).tanh())
    assert not torch.equal(F.max_pool2d(ones(x.tanh()), 2), F.max_pool2d(ones(x), 2).tanh())


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_that_copies_its_input_commutes_with_any_activation(mode):
    """Reflect, replicate and circular padding copy values of their input, so f(pad(x)) =
    pad(f(x)) for any elementwise f, not only one that keeps 0 (sigmoid here, checked on
    numbers): the rule walks through them as module or call, and the rewrite leaves the pair
    to the user, since the pool would go before the padding."""
    modules = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d,
               "circular": nn.CircularPad2d}

    class Called(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return F.max_pool2d(F.pad(torch.sigmoid(self.conv(x)), (1, 1, 1, 1), mode=mode), 2)

    def found(model) -> list[str]:
        return [f.message for f in lint_model(model).findings if f.rule == "act-before-maxpool"]

    pad = modules[mode](1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), pad, nn.MaxPool2d(2))
    (message,) = found(model)
    assert "through padding that copies its input" in message
    assert len(found(Called())) == 1
    zero = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.ZeroPad2d(1), nn.MaxPool2d(2))
    assert found(zero) == []  # sigmoid(0) = 0.5: zero padding does not commute with it
    # equal up to the rounding of torch's vectorised sigmoid, which differs by position
    x, pool = torch.randn(2, 1, 9, 9, generator=torch.Generator().manual_seed(0)), nn.MaxPool2d(2)
    assert torch.allclose(pool(pad(x.sigmoid())), pool(pad(x)).sigmoid(), rtol=1e-6, atol=0)
    zeros = nn.ZeroPad2d(1)
    assert not torch.allclose(pool(zeros(x.sigmoid())), pool(zeros(x)).sigmoid(), atol=0.1)
    # the rewrite moves the activation past the padding and the pool
    x = torch.randn(2, 1, 11, 11, generator=torch.Generator().manual_seed(1))
    result = rewrite_model(model, pool_first=True, example_input=x)
    (change,) = result.changes
    assert (change.before, change.after) == ("sigmoid→copypad→maxpool", "copypad→maxpool→sigmoid")
    assert torch.allclose(result.model(x), model(x), rtol=1e-6, atol=0) and not result.skipped
    assert found(result.model) == []
    kinds = [type(m).__name__ for m in result.model.modules()][1:]
    assert sorted(kinds) == sorted(["Conv2d", "Sigmoid", type(pad).__name__, "MaxPool2d"])


@pytest.mark.parametrize(("at", "value"), [(0.0, 0.0), (0.5, -1.0), (0.5, 0.0), (-0.5, 0.0),
                                           (0.0, 0.5), (-1.0, -0.5)])
def test_a_threshold_commutes_with_the_pool_as_its_step_says(at, value):
    """nn.Threshold(at, value) gives x above ``at`` and ``value`` at or below it: a step from
    value up to ``at``, non-decreasing while value <= at (checked on a grid), so the pool can go
    first exactly then; through zero padding it must also map 0 to 0 (at < 0 or value == 0).
    Read from the module and from an F.threshold call alike."""

    class Called(nn.Module):
        def __init__(self, pad):
            super().__init__()
            self.conv, self.pad = nn.Conv2d(1, 2, 3), pad

        def forward(self, x):
            return F.max_pool2d(self.pad(F.threshold(self.conv(x), at, value)), 2)

    def fires(model) -> bool:
        return any(f.rule == "act-before-maxpool" for f in lint_model(model).findings)

    grid = torch.linspace(-3, 3, 6001)
    act = nn.Threshold(at, value)
    monotone = bool((act(grid).diff() >= 0).all())
    assert monotone is (value <= at)
    keeps_zero = float(act(torch.zeros(1))) == 0.0
    assert keeps_zero is (at < 0 or value == 0)
    for pad, needs_zero in ((nn.Identity(), False), (nn.ZeroPad2d(1), True)):
        expected = monotone and (keeps_zero or not needs_zero)
        assert fires(nn.Sequential(nn.Conv2d(1, 2, 3), act, pad, nn.MaxPool2d(2))) is expected
        assert fires(Called(pad)) is expected


@pytest.mark.parametrize("mode", ["fx", "hooks"])
def test_a_max_pool_whose_argmax_is_read_is_left_alone(mode):
    """ReLU's zeros tie: pooling first keeps the values but can move the argmax (checked on
    numbers), so a pool whose indices are read (here by an unpool; module or call) is not
    reported. Under fx a pool that returns them unread is; in hooks mode, where no reader is
    seen, any pool that returns them is left alone."""

    class Called(nn.Module):
        def __init__(self, read: bool):
            super().__init__()
            self.conv, self.read = nn.Conv2d(1, 2, 3), read

        def forward(self, x):
            values, where = F.max_pool2d(F.relu(self.conv(x)), 2, return_indices=True)
            return F.max_unpool2d(values, where, 2) if self.read else values

    class Module(nn.Module):
        def __init__(self, read: bool):
            super().__init__()
            self.conv, self.pool = nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, return_indices=True)
            self.unpool, self.read = nn.MaxUnpool2d(2), read

        def forward(self, x):
            values, where = self.pool(torch.relu(self.conv(x)))
            return self.unpool(values, where) if self.read else values

    def fires(model) -> bool:
        report = lint_model(model, input_shape=(1, 1, 10, 10), mode=mode)
        return any(f.rule == "act-before-maxpool" for f in report.findings)

    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    assert fires(plain)
    for kind in (Called, Module):
        assert not fires(kind(True))
        assert fires(kind(False)) is (mode == "fx")
    x = torch.tensor([[[[-3.0, -1.0], [-2.0, -4.0]]]])  # ReLU ties them all at 0
    after = F.max_pool2d(F.relu(x), 2, return_indices=True)
    first = F.max_pool2d(x, 2, return_indices=True)
    assert torch.equal(after[0], F.relu(first[0])) and not torch.equal(after[1], first[1])


def test_an_exported_max_pool_reports_as_its_argmax_is_read(tmp_path):
    """A decomposed torch.export program spells every max-pool ``max_pool2d_with_indices`` and
    reads its argmax (output 1) only where the model did: the rule still fires for a plain
    pool, not for one whose indices are used."""

    class Unpooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pool = nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2)

        def forward(self, x):
            values, where = self.pool(torch.relu(self.conv(x)))
            return self.unpool(values, where)

    def fires(model, name) -> bool:
        x = torch.randn(1, 1, 10, 10)
        program = torch.export.export(model.eval(), (x,)).run_decompositions()
        path = tmp_path / f"{name}.pt2"
        torch.export.save(program, path)
        return any(f.rule == "act-before-maxpool" for f in lint_any(str(path)).findings)

    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    assert fires(plain, "plain") and not fires(Unpooled(), "unpooled")


def test_a_called_hard_tanh_keeps_zero_as_its_range_says():
    """Through zero padding, F.hardtanh commutes with the pool only while its range holds 0."""

    class Padded(nn.Module):
        def __init__(self, low, high):
            super().__init__()
            self.conv, self.pad, self.pool = nn.Conv2d(1, 2, 3), nn.ZeroPad2d(1), nn.MaxPool2d(2)
            self.low, self.high = low, high

        def forward(self, x):
            return self.pool(self.pad(F.hardtanh(self.conv(x), self.low, self.high)))

    def fires(low, high) -> bool:
        report = lint_model(Padded(low, high))
        return any(f.rule == "act-before-maxpool" for f in report.findings)

    assert fires(-1.0, 1.0) and not fires(-2.0, -0.5)
    x = torch.randn(2, 1, 9, 9)
    pad, pool = nn.ZeroPad2d(1), nn.MaxPool2d(2)
    assert torch.equal(pool(pad(F.hardtanh(x))), F.hardtanh(pool(pad(x))))
    # 0 goes to -0.5: a window that holds padding gives 0 one way, -0.5 the other
    assert not torch.equal(pool(pad(F.hardtanh(x, -2, -0.5))), F.hardtanh(pool(pad(x)), -2, -0.5))


def test_an_onnx_elu_and_clip_fire_as_their_settings_allow(tmp_path):
    """Elu's alpha is read from its attribute; Clip's range from its constant inputs, and a Pad
    of zeros is zero padding, which a Clip whose range holds 0 commutes with."""
    pytest.importorskip("onnx")
    from tests.lint.test_lint_onnx import export

    def found(model, name, shape=(1, 3, 32, 32)) -> list[str]:
        path = export(model, tmp_path / f"{name}.onnx", shape, dynamo=False)
        return [f.message for f in lint_any(path).findings if f.rule == "act-before-maxpool"]

    assert len(found(vgg(nn.ELU()), "elu")) == 2
    assert len(found(vgg(nn.ELU(alpha=-0.5)), "negative")) == 1  # the second block's ReLU

    def padded(act):
        return nn.Sequential(nn.Conv2d(1, 2, 3), act, nn.ZeroPad2d(1), nn.MaxPool2d(2))

    (message,) = found(padded(nn.Hardtanh(-1.0, 1.0)), "clip", (1, 1, 9, 9))
    assert "through zero padding" in message
    assert found(padded(nn.Hardtanh(-2.0, -0.5)), "clip-away", (1, 1, 9, 9)) == []
    assert found(padded(nn.Sigmoid()), "sigmoid", (1, 1, 9, 9)) == []


def _onnx_chain(path, *stages, indices: bool = False) -> str:
    """Conv -> ``stages`` (each (op, attributes, constant inputs)) -> MaxPool, opset 17, built
    node by node: settings torch's own modules cannot export (a falling HardSigmoid or Selu)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["h0"])]
    for i, (op, attrs, consts) in enumerate(stages):
        names = [f"h{i}"]
        for j, value in enumerate(consts):
            if value is None:
                names.append("")
            else:
                names.append(f"c{i}_{j}")
                inits.append(numpy_helper.from_array(np.asarray(value), names[-1]))
        nodes.append(helper.make_node(op, names, [f"h{i + 1}"], **attrs))
    nodes.append(helper.make_node("MaxPool", [f"h{len(stages)}"], ["y", "i"] if indices else ["y"],
                                  kernel_shape=[2, 2], strides=[2, 2]))
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 9, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return str(path)


def test_onnx_settings_that_make_an_activation_fall_or_move_zero(tmp_path):
    """ONNX lets HardSigmoid's alpha and Selu's gamma and alpha take any sign (falling below
    0), and pads with a mode and a value: a Pad of zeros commutes with a zero-keeping
    activation, a Pad that copies its input (reflect, edge, wrap) with any."""
    pytest.importorskip("onnx")
    import numpy as np

    def fires(*stages) -> bool:
        path = _onnx_chain(tmp_path / f"m{len(list(tmp_path.iterdir()))}.onnx", *stages)
        return any(f.rule == "act-before-maxpool" for f in lint_any(path).findings)

    assert fires(("HardSigmoid", {}, ())) and not fires(("HardSigmoid", {"alpha": -0.2}, ()))
    argmax = _onnx_chain(tmp_path / "indices.onnx", ("Relu", {}, ()), indices=True)
    assert not any(f.rule == "act-before-maxpool" for f in lint_any(argmax).findings)
    assert fires(("Selu", {}, ())) and not fires(("Selu", {"gamma": -1.0}, ()))
    assert not fires(("Selu", {"alpha": -1.0}, ()))
    pads = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)
    relu = ("Relu", {}, ())
    assert fires(relu, ("Pad", {}, (pads,)))
    assert fires(relu, ("Pad", {}, (pads, np.array(0, np.float32))))
    assert not fires(relu, ("Pad", {}, (pads, np.array(1, np.float32))))
    sigmoid = ("Sigmoid", {}, ())  # does not keep 0: only a pad that copies commutes
    for mode in ("reflect", "edge", "wrap"):
        assert fires(relu, ("Pad", {"mode": mode}, (pads,)))
        assert fires(sigmoid, ("Pad", {"mode": mode}, (pads,)))
    assert not fires(sigmoid, ("Pad", {}, (pads,)))
    clip = ("Clip", {}, (np.array(-1, np.float32), np.array(1, np.float32)))
    assert fires(clip, ("Pad", {}, (pads,)))
    assert not fires(("Clip", {}, (np.array(0.5, np.float32), None)), ("Pad", {}, (pads,)))


def test_an_onnx_prelu_fires_only_while_its_slopes_are_non_negative(tmp_path):
    """PRelu's slopes are read from the exported initializer, as from the torch module."""
    pytest.importorskip("onnx")
    from tests.lint.test_lint_onnx import export

    model = vgg(nn.PReLU(8))
    path = export(model, tmp_path / "prelu.onnx", (1, 3, 32, 32), dynamo=False)
    paths = [f.path for f in lint_any(path).findings if f.rule == "act-before-maxpool"]
    with torch.no_grad():
        model[1].weight[3] = -0.5
    path = export(model, tmp_path / "negative.onnx", (1, 3, 32, 32), dynamo=False)
    negative = [f.path for f in lint_any(path).findings if f.rule == "act-before-maxpool"]
    assert len(paths) == 2 and len(negative) == 1  # the second block's ReLU still fires


def test_functional_calls_and_branches():
    assert len(_found(Functional())) == 1
    assert _found(Branching()) == []


def test_pool_first_rewrite_gives_the_same_output():
    model = vgg(nn.LeakyReLU(0.1)).eval()
    x = torch.randn(4, 3, 32, 32)
    result = rewrite_model(model, pool_first=True, example_input=x)
    assert len(result.changes) == 2 and result.same_output is True
    assert torch.equal(result.model(x), model(x))
    assert _found(result.model) == []  # nothing left to move


def test_pool_first_from_the_command_line(tmp_path, capsys):
    target = tmp_path / "net.py"
    target.write_text(
        "from torch import nn\n"
        "def make():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n"
    )
    code, out, err = run_cli(
        capsys,
        "rewrite",
        f"{target}:make",
        "--pool-first",
        "-i",
        "2,3,16,16",
        "-o",
        tmp_path / "pf.pt",
    )
    assert code == 0, err
    assert "relu→maxpool -> maxpool→relu" in out and "bit for bit" in out
    rewritten = torch.load(tmp_path / "pf.pt", weights_only=False)
    assert [type(m).__name__ for m in rewritten.children()] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert [n.op for n in rewritten.graph.nodes][1:4] == ["call_module"] * 3
    assert str(list(rewritten.graph.nodes)[2].target) == "2"  # the pool now comes second


def test_the_census_counts_patterns_with_pooling():
    for spec, pattern, rule in [
        ("conv-bn-relu-maxpool", "conv→bn→relu→maxpool", True),
        ("conv-relu-maxpool-bn", "conv→relu→maxpool→bn", True),
        ("conv-maxpool-bn-relu", "conv→maxpool→bn→relu", False),
        ("conv-relu-bn-maxpool", "conv→relu→bn→maxpool", False),
    ]:
        model = build_model("cnn2d", spec, in_shape=(1, 28, 28), num_classes=10)
        report = lint_model(model)
        assert report.pattern_count(pattern) == 3, (spec, report.census)
        assert bool(_found(model)) is rule


def test_zero_padding_between_a_zero_keeping_activation_and_the_pool():
    """relu(0) = 0, so zero padding commutes with it: the pool can still go first (checked on
    numbers); sigmoid(0) = 1/2, so through padding it cannot."""
    import torch
    from torch import nn

    from layerorder.activations import ACTIVATIONS
    from layerorder.lint import lint_model, rewrite_model

    for a in ACTIVATIONS:  # the zero flag is what torch computes
        if a.token not in ("threshold", "identity"):
            module = getattr(nn, a.nn_class)().eval()
            assert (float(module(torch.zeros(1)).detach()) == 0.0) == a.zero, a.token

    def rules(act):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), act, nn.ZeroPad2d(1), nn.MaxPool2d(2))
        return [f for f in lint_model(model).findings if f.rule == "act-before-maxpool"]

    (found,) = rules(nn.ReLU())
    assert found.path == "1" and "through zero padding" in found.message
    assert rules(nn.Sigmoid()) == []
    x = torch.randn(2, 1, 9, 9)
    pad, pool = nn.ZeroPad2d(1), nn.MaxPool2d(2)
    assert torch.equal(pool(pad(torch.relu(x))), torch.relu(pool(pad(x))))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.ZeroPad2d(1), nn.MaxPool2d(2))
    result = rewrite_model(model, pool_first=True, example_input=x)
    (change,) = result.changes
    assert (change.before, change.after) == ("relu→zeropad→maxpool", "zeropad→maxpool→relu")
    assert result.same_output is True and torch.equal(result.model(x), model(x))
    assert rules_of(result.model) == []


def rules_of(model):
    from layerorder.lint import lint_model

    return [f for f in lint_model(model).findings if f.rule == "act-before-maxpool"]


def test_pooling_first_within_rounding_is_accepted_and_said(capsys):
    """torch's vectorised softplus rounds differently by position, so pooling first (the
    activation evaluated at other positions of a smaller tensor) can move the output's last bits
    on some CPUs: that is accepted, with the largest difference. What counts as rounding is what
    vanishes in float64: a formula of softplus that rounds otherwise is accepted, a change of one
    small element below float32's rounding of the largest one is not."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from layerorder.cli.commands_lint import print_rewrite
    from layerorder.lint import rewrite_model
    from layerorder.modelgraph.build import run_model
    from layerorder.modelgraph.rewrite import RewriteResult, _rounding_apart

    for seed in range(20):  # on AVX2 and AVX-512 CPUs some seeds move a last bit
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softplus(), nn.MaxPool2d(2)).eval()
        x = torch.randn(3, 1, 9, 9)
        result = rewrite_model(model, pool_first=True, example_input=x)
        with torch.no_grad():
            gap = float((result.model(x) - model(x)).abs().max())
        assert result.difference == gap < 1e-6 and result.same_output is (gap == 0.0)

    class Formula(nn.Module):  # softplus as written, rounded otherwise than torch's kernel
        def forward(self, x):
            return torch.log1p(torch.exp(x))

    class Changed(nn.Module):  # softplus with one small element moved by 5e-5
        def forward(self, x):
            y = F.softplus(x).clone()
            y[0, 0] += 5e-5
            return y

    x = torch.randn(64, 100, generator=torch.Generator().manual_seed(0)) * 3
    x[0, 0] = -8.0  # softplus(-8) = 3.4e-4; the largest output is about 12
    plain = nn.Softplus()
    out = run_model(plain, x, "softplus")
    formula = run_model(Formula(), x, "formula")
    gap = float((formula - out).abs().max())
    assert 0 < gap < 1e-6 and _rounding_apart(plain, Formula(), x, out, formula) == gap
    # 5e-5 is below 64 float32 epsilons of the largest output (9e-5), yet a change
    assert _rounding_apart(plain, Changed(), x, out, run_model(Changed(), x, "changed")) is None
    assert _rounding_apart(plain, plain, x, out, out.clone()) == 0.0
    nan = out.clone()
    nan[1, 1] = float("nan")
    assert _rounding_apart(plain, plain, x, (nan, out), (nan.clone(), out)) == 0.0
    assert _rounding_apart(plain, plain, x, nan, out) is None  # NaN in one place only
    assert _rounding_apart(plain, plain, x, out, out[:2]) is None
    assert _rounding_apart(plain, plain, x, out, out.double()) is None
    assert _rounding_apart(plain, plain, x, (out,), (out, out)) is None
    # what the command prints for it
    result = RewriteResult(result.model, result.changes, (), (3, 1, 9, 9), (), False, 6e-8)
    print_rewrite(result)
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "gives the original's output to rounding (largest difference 6e-08)" in printed
    assert "bit for bit" not in printed


def test_pool_first_leaves_a_pool_with_indices_and_an_in_place_activation_read_elsewhere():
    """A pool that also returns its indices is rewritten after its values' ``[0]``; a pad that
    reads its size from the activation's shape is kept; an in-place activation whose input is
    read elsewhere is left, since moving it would change what that reader sees."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from layerorder.lint import rewrite_model

    class Indexed(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pool = nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, return_indices=True)

        def forward(self, x):
            y, _ = self.pool(F.relu(self.conv(x)))
            return y

    class ShapedPad(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            y = F.relu(self.conv(x))
            y = F.pad(y, (0, y.shape[-1] % 2, 0, y.shape[-2] % 2), mode="replicate")
            return F.max_pool2d(y, 2)

    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            y = self.conv(x)
            return F.max_pool2d(F.relu(y, inplace=True), 2).sum() + y.sum()

    x = torch.randn(2, 1, 10, 10, generator=torch.Generator().manual_seed(0))
    for model, moved in ((Indexed(), True), (ShapedPad(), True), (InPlace(), False)):
        result = rewrite_model(model.eval(), pool_first=True, example_input=x)
        assert bool(result.changes) is moved, (type(model).__name__, result.skipped)
        assert result.same_output is True
        with torch.no_grad():
            assert torch.equal(result.model(x), model(x))
    (skip,) = rewrite_model(InPlace(), pool_first=True, example_input=x).skipped
    assert "works in place on a tensor that is read elsewhere" in skip.reason

def test_padding_commutes_only_with_an_activation_that_keeps_zero():
    from torch import nn

    from layerorder.lint import lint_model

    def padded(act):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), act, nn.ZeroPad2d(1), nn.MaxPool2d(2))
        return [f.rule for f in lint_model(model).findings]

    assert padded(nn.ReLU6()) == ["act-before-maxpool"]
    assert padded(nn.Hardtanh(0.5, 2.0)) == []  # maps 0 to 0.5: the padding would not commute
