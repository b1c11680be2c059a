"""The Python API's signatures come from the settings' declaration: every setting is a keyword
with its declared default, ``help()`` lists them, and the root's type stub is current."""

from __future__ import annotations

import ast
import inspect
import pydoc

import layerorder
from layerorder.cli.options import settings_for
from layerorder.experiment.configuration.probing import PROBE_DEFAULTS
from layerorder.experiment.configuration.settings import SETTINGS
from layerorder.experiment.configuration.signatures import passed_type
from layerorder.search.budget import OWN_SETTINGS


def test_compare_lists_every_setting_with_its_declared_default():
    params = inspect.signature(layerorder.compare).parameters
    for s in SETTINGS:
        if s.name in ("train", "model"):  # compare's own parameters: they take callables too
            continue
        assert params[s.name].default == s.default, s.name
        assert params[s.name].annotation == passed_type(s)
        assert params[s.name].kind is inspect.Parameter.KEYWORD_ONLY
    assert {"data", "data_name", "model", "store", "fresh", "progress"} <= set(params)


def test_probe_and_search_list_theirs_and_not_what_they_decide():
    probe = inspect.signature(layerorder.probe_orders).parameters
    assert probe["orders"].default == PROBE_DEFAULTS["orders"]
    assert probe["epochs"].default == PROBE_DEFAULTS["epochs"]
    own = {"data", "data_name", "model", "seed", "recalibrate"}
    assert set(probe) - own == {s.name for s in settings_for("probe")} - {"model"}  # the CLI
    assert not {"executor", "lease", "max_runs", "seeds", "metric"} & set(probe)
    search = inspect.signature(layerorder.search_orders).parameters
    assert {"budget", "eta", "finalists", "base", "epochs", "batch_size"} <= set(search)
    assert not set(OWN_SETTINGS) & set(search)
    plan = inspect.signature(layerorder.search_plan).parameters
    assert set(search) - {"observer", "store", "progress"} <= set(plan)


def test_help_shows_each_setting_its_type_default_and_meaning():
    text = pydoc.render_doc(layerorder.compare, renderer=pydoc.plaintext)
    assert "epochs: 'int' = 20" in text  # the signature line
    assert "batch_size: int = 100" in text  # the settings section
    assert "Batch size." in text
    assert "**settings" not in text


def test_a_keyword_the_signature_lists_is_really_taken():
    """The signature is not decoration: each keyword it lists reaches the config."""
    plan = layerorder.compare_plan(dataset="synthetic", arch="mlp", width=8, epochs=1,
                                   orders=["standard"], seeds=2, batch_size=16)
    assert plan.config.batch_size == 16 and len(plan.specs) == 2


def test_the_stub_is_current_and_declares_every_public_name():
    from layerorder.stubs import STUB, stub_text

    assert STUB.read_text() == stub_text(), "run: python -m layerorder.stubs"
    tree = ast.parse(STUB.read_text())
    declared = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                for a in n.names} | {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert set(layerorder.__all__) <= declared
    compare = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compare")
    assert {a.arg for a in compare.args.kwonlyargs} >= {s.name for s in SETTINGS}
