"""Study files: the built-in ones parse and cover the debate; mistakes fail when the file is
read, with one line naming the study, the place and the fix."""

import pytest

from layerorder.errors import ConfigError
from layerorder.studies import builtin_names, builtin_studies, load_study, parse_study
from layerorder.studies.catalog import builtin_dir


def test_builtin_studies_parse_at_every_scale_with_measured_cpu_minutes():
    studies = builtin_studies()
    assert {s.name for s in studies} == set(builtin_names())
    for s in studies:
        assert set(s.scales) == {"quick", "cpu", "full"}
        assert s.scales["quick"].minutes and s.scales["quick"].measured_on
        assert s.scales["cpu"].minutes and "2-core CPU" in s.scales["cpu"].measured_on
        assert s.scales["cpu"].note  # why this regime
        assert s.scales["full"].gpu_hours
        for e in s.experiments_at("quick"):
            quick, full = s.config(e.id, "quick"), s.config(e.id, "full")
            assert full.epochs > quick.epochs  # the full scale is the larger one
            assert quick.name == f"study:{s.name}/v{s.version}/{e.id}@quick"
    # the cpu scale of every study together fits in 2 hours of this 2-core machine
    assert sum(s.scales["cpu"].minutes for s in studies) <= 120


def test_cpu_scale_is_off_the_ceiling_and_in_the_deep_regimes():
    """What the cpu scale exists for: the harder MNIST-1D, He et al.'s depths with SGD, deeper
    Transformers with Adam's beta2 = 0.98 on a token sequence."""
    by = {s.name: s for s in builtin_studies()}
    units = by["residual-units"].config("units", "cpu")
    assert dict(units.vary)["depth"] == (20, 56, 110)
    assert (units.optimizer, units.nesterov, units.batch_size) == ("sgd", True, 128)
    warm = by["transformer-warmup"].config("warmup", "cpu")
    assert dict(warm.vary)["depth"] == (6, 12) and warm.beta2 == 0.98 and warm.width == 64
    assert dict(warm.data_options) == {"patch": 5}
    for name in ("bn-activation", "pooling", "dropout-bn", "learning-rate"):
        config = by[name].config(by[name].experiments[0].id, "cpu")
        assert dict(config.data_options) == {"corr_noise": 0.45}


def test_builtin_claims_use_every_test_kind():
    kinds = {c.test.kind for s in builtin_studies() for c in s.claims}
    assert kinds == {"value", "difference", "accuracy", "ranking", "reliability", "stable-lr",
                     "interaction", "trend", "shift-formula", "same-function", "init-grad",
                     "first-update"}
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
        ({"claims": [{**BASE["claims"][0], "guarded_by": "g"}]}, "guarded_by names no check"),
        ({"claims": [{**BASE["claims"][0], "guarded_by": "c2"},
                     {**BASE["claims"][0], "id": "c2", "shares": "c"}]},
         "guarded_by names no check"),  # a claim, not a check
        ({"claims": [{**BASE["claims"][0], "guarded_by": "g"},
                     {**BASE["claims"][0], "id": "g", "kind": "check", "guarded_by": "g"}]},
         "a check has no guard"),
        ({"claims": [{**BASE["claims"][0], "guarded_by": "g"},
                     {**BASE["claims"][0], "id": "c2", "shares": "c"},
                     {**BASE["claims"][0], "id": "g", "kind": "check"}]},
         "takes the same guarded_by"),
        ({"experiments": [{"id": "e", "orders": ["conv-bn-relu", "conv-relu-bn"]},
                          {"id": "f", "orders": ["conv-bn-relu", "conv-relu-bn"]}],
          "claims": [{**BASE["claims"][0], "guarded_by": "g"},
                     {**BASE["claims"][0], "id": "g", "kind": "check", "experiment": "f"}]},
         "must test the same experiment"),
        ({"claims": [{**BASE["claims"][0], "reading": "yes"}]}, "'reading' takes true or false"),
        ({"claims": [{**BASE["claims"][0], "kind": "check", "reading": True}]},
         "a check is never a reading"),
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
    assert out.stdout.split() == ["pooling", "7"]


def test_an_experiment_can_run_at_some_scales_only(tmp_path):
    data = {
        "name": "partial", "title": "t",
        "scales": {"quick": {"epochs": 1, "seeds": 2}, "cpu": {"epochs": 2, "seeds": 2}},
        "experiments": [
            {"id": "everywhere", "orders": ["conv-bn-relu", "conv-relu-bn"]},
            {"id": "deep", "orders": ["conv-bn-relu", "conv-relu-bn"], "scales": ["cpu"],
             "vary": {"depth": [6, 8]}},
        ],
        "claims": [
            {"id": "a", "statement": "s", "source": "s", "experiment": "everywhere",
             "test": "accuracy", "better": "conv-bn-relu", "than": "conv-relu-bn"},
            # names a level only the cpu scale has: checked there alone
            {"id": "b", "statement": "s", "source": "s", "experiment": "deep",
             "test": "accuracy", "better": "conv-bn-relu", "than": "conv-relu-bn",
             "condition": {"depth": 8}},
        ],
    }
    study = parse_study(data, tmp_path / "partial.toml")
    assert [e.id for e in study.experiments_at("quick")] == ["everywhere"]
    assert [e.id for e in study.experiments_at("cpu")] == ["everywhere", "deep"]
    assert [c.id for c in study.claims_at("quick")] == ["a"]
    assert [c.id for c in study.claims_at("cpu")] == ["a", "b"]
    with pytest.raises(ConfigError, match="does not run at scale 'quick' \\(only at cpu\\)"):
        study.config("deep", "quick")
    bad = {**data, "experiments": [{**data["experiments"][1], "scales": ["gpu"]}],
           "claims": data["claims"][1:]}
    with pytest.raises(ConfigError, match="'scales' takes a list of the study's scales"):
        parse_study(bad, tmp_path / "bad.toml")


def test_a_claim_that_is_this_studys_reading_says_so_and_is_marked():
    """``reading = true`` marks exactly the built-in claims whose statement or source says the
    verdict is on this study's own reading of the source (or a question no source answers)."""
    import re

    from layerorder.studies import builtin_studies

    says = re.compile(r"this study's (init-time )?(reading|question)|read by this study|"
                      r"verdict is on the study's reading", re.I)
    marked, said = set(), set()
    for study in builtin_studies():
        for c in study.claims:
            if c.reading:
                marked.add(c.id)
            if c.kind == "claim" and says.search(c.statement + " " + c.source):
                said.add(c.id)
    assert marked and marked == said
    assert _with()().claims[0].reading is False
    mine = _with(claims=[{**BASE["claims"][0], "reading": True}])()
    assert mine.claims[0].reading is True
