"""TorchScript modules are read from their graphs (nothing runs): every finding, pattern, fold
and Transformer block matches what lint finds on the eager module they were scripted from."""

import pytest
import torch

from layerorder.lint import lint_model
from layerorder.modelgraph.script_graph import graph_from_script
from tests.modelgraph.script_models import SHAPES, Functional, Looped, cases


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_scripted_model_lints_like_its_eager_module(name):
    eager = cases()[name].eval()
    scripted = torch.jit.script(eager)
    a, b = lint_model(eager, input_shape=SHAPES[name]), lint_model(scripted)
    assert b.mode == "torchscript"
    assert sorted((f.rule, f.path) for f in a.findings) == sorted(
        (f.rule, f.path) for f in b.findings)
    assert {c.pattern: c.count for c in a.census} == {c.pattern: c.count for c in b.census}
    assert [(p.into, p.weight) for p in a.folds] == [(p.into, p.weight) for p in b.folds]
    assert a.stacks == b.stacks
    if name != "encoder":  # TransformerEncoder's own code has a fast path torch.fx skips
        assert a.roles == b.roles


def test_a_saved_and_loaded_program_keeps_its_layers(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.jit.save(torch.jit.script(cases()["resnet"].eval()), path)
    graph = graph_from_script(torch.jit.load(str(path)))
    convs = [n for n in graph.nodes if n.kind == "conv"]
    assert [n.path for n in convs] == ["0", "3.conv1", "3.conv2", "4.conv1", "4.conv2"]
    assert [n.bias for n in convs] == [True, False, True, False, True]
    adds = [n.path for n in graph.nodes if n.role == "add"]
    assert adds == ["3.add", "4.add"]  # a function call is named by its module, as hooks do


@pytest.mark.parametrize("pre", [True, False])
def test_functional_calls_branches_and_tuples_read_like_the_eager_module(pre):
    eager = Functional(pre).eval()
    a, b = lint_model(eager, input_shape=(1, 1, 8, 8)), lint_model(torch.jit.script(eager))
    assert sorted((f.rule, f.path) for f in a.findings) == sorted(
        (f.rule, f.path) for f in b.findings)
    assert {c.pattern: c.count for c in a.census} == {c.pattern: c.count for c in b.census}
    assert a.roles == b.roles
    rules = {f.rule for f in b.findings}
    assert "redundant-bias" in rules  # split.a's bias feeds the BN: the tuple kept apart
    assert "act-before-maxpool" in rules  # F.relu before F.max_pool2d
    graph = graph_from_script(torch.jit.script(eager))
    conv = next(n for n in graph.nodes if n.path == "conv")
    assert [n.kind for n in graph.succ_nodes(conv)] == ["relu" if pre else "sigmoid"]
    assert ("sigmoid" in [n.kind for n in graph.nodes]) == (not pre)  # only the branch taken
    (norm,) = [n for n in graph.nodes if n.role == "norm" and n.kind == "ln"]
    assert norm.path == "norm.layer_norm"  # the user's LayerNorm was walked into


def test_a_loop_body_reads_the_value_carried_in():
    graph = graph_from_script(torch.jit.script(Looped().eval()))
    fc, gelu, out = ([n for n in graph.nodes if n.path == p or n.kind == p][0]
                     for p in ("fc", "gelu", "out"))
    assert fc.index in graph.preds[gelu.index] or any(
        fc.index in graph.preds[p] for p in graph.preds[gelu.index])
    assert out.index in {i for n in graph.nodes if n.role == "output" for i in graph.preds[n.index]}
