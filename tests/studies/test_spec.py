"""Study files: the built-in ones parse and cover the debate; mistakes fail when the file is
read, with one line naming the study, the place and the fix."""

import pytest

from layerorder.errors import ConfigError
from layerorder.studies import builtin_names, builtin_studies, load_study, parse_study
from layerorder.studies.catalog import builtin_dir


def test_builtin_studies_parse_at_both_scales_with_time_estimates():
    studies = builtin_studies()
    assert {s.name for s in studies} == set(builtin_names())
    for s in studies:
        assert set(s.scales) == {"quick", "full"}
        assert s.scales["quick"].minutes and s.scales["quick"].measured_on
        assert s.scales["full"].gpu_hours
        for e in s.experiments:
            quick, full = s.config(e.id, "quick"), s.config(e.id, "full")
            assert full.epochs > quick.epochs  # the full scale is the larger one
            assert quick.name == f"study:{s.name}/v{s.version}/{e.id}@quick"


def test_builtin_claims_use_every_test_kind():
    kinds = {c.test.kind for s in builtin_studies() for c in s.claims}
    assert kinds == {"value", "difference", "accuracy", "ranking", "reliability", "stable-lr",
                     "interaction", "trend", "shift-formula"}
    for s in builtin_studies():
        for c in s.claims:
            assert c.source and c.statement


def test_a_study_is_found_by_name_or_by_path(tmp_path):
    path = builtin_dir() / "pooling.toml"
    assert load_study(str(path)).name == load_study("pooling").name
    with pytest.raises(ConfigError, match="did you mean 'pooling'"):
        load_study("poolin")
    with pytest.raises(ConfigError, match="does not exist"):
        load_study(tmp_path / "missing.toml")


BASE = {
    "name": "mine",
    "title": "t",
    "scales": {"quick": {"epochs": 1}},
    "experiments": [{"id": "e", "orders": ["conv-bn-relu", "conv-relu-bn"]}],
    "claims": [{"id": "c", "statement": "s", "source": "me", "experiment": "e",
                "test": "accuracy", "equivalent": ["conv-bn-relu", "conv-relu-bn"]}],
}


def _with(**changes):
    data = {**BASE, **changes}
    return lambda: parse_study(data, __import__("pathlib").Path("mine.toml"))


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"scales": {"quick": {"epoch": 1}}}, "unknown key 'epoch'.*did you mean 'epochs'"),
        ({"scales": {"huge": {}}}, "unknown scale 'huge'"),
        ({"scales": {"full": {}}}, r"needs a \[scales.quick\]"),
        ({"experiments": [{"id": "e", "orders": ["conv-bn-rleu"]}]}, "scale 'quick'"),
        ({"claims": [{**BASE["claims"][0], "experiment": "f"}]}, "no experiment 'f'"),
        ({"claims": [{**BASE["claims"][0], "test": "accuracyy"}]}, "did you mean 'accuracy'"),
        ({"claims": []}, "needs claims"),
        ({"titel": "x"}, "unknown key 'titel'"),
        ({"version": 0}, "positive integer"),
        ({"claims": [{**BASE["claims"][0], "equivalent": ["conv-bn-relu", "conv-relu-bnn"]}]},
         "order 'conv-relu-bnn' is not one of.*did you mean 'conv-relu-bn'"),
        ({"claims": [{**BASE["claims"][0], "condition": {"depth": 8}}]},
         "'depth' is not a varied factor"),
        ({"experiments": [{"id": "e", "orders": ["conv-bn-relu", "conv-relu-bn"],
                           "vary": {"p_drop": [0.1, 0.5]}}],
          "claims": [{**BASE["claims"][0], "condition": {"p_drop": 0.3}}]},
         "p_drop = 0.3 is not a level"),
        ({"claims": [{"id": "c", "statement": "s", "source": "me", "experiment": "e",
                      "test": "interaction", "factor": "depth"}]},
         "'depth' is not a varied factor"),
    ],
)
def test_bad_study_files(changes, message):
    with pytest.raises(ConfigError, match=message):
        _with(**changes)()


def test_the_version_names_the_stored_experiment():
    one = _with()()
    two = _with(version=2)()
    assert one.experiment_name("e", "quick") != two.experiment_name("e", "quick")


def test_studies_are_reachable_from_import_layerorder():
    import subprocess
    import sys

    code = ("import layerorder; s = layerorder.studies.load_study('pooling');"
            " print(s.name, len(s.claims))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pooling", "4"]
