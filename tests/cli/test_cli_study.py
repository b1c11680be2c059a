"""``layerorder study`` end to end on a user's own tiny study file: run (a second run trains
nothing), report in both formats, show, list; bad input exits 2 with one line."""

import json

from layerorder.studies import load_study
from layerorder.studies.family import evaluate_findings
from tests.helpers import check_page, chromium_available, run_cli

STUDY = """
name = "tiny"
version = 1
title = "Tiny study"
question = "Does the order matter on a toy problem?"

[scales.quick]
dataset = "synthetic"
arch = "mlp"
width = 16
epochs = 1
seeds = 3
batch_size = 64
minutes = 0.1
measured_on = "test"

[scales.full]
dataset = "synthetic"
arch = "mlp"
gpu_hours = 0.1

[[experiments]]
id = "pair"
orders = ["linear-bn-relu", "linear-relu-bn"]
probe = true

[[claims]]
id = "half-positive"
statement = "BN before ReLU: about half positive"
source = "Ioffe & Szegedy 2015"
experiment = "pair"
test = "value"
measure = { order = "linear-bn-relu", stage = "input:act", statistic = "frac_positive" }
between = [0.3, 0.7]

[[claims]]
id = "same-accuracy"
statement = "the two orders are equally accurate"
source = "forum"
experiment = "pair"
test = "accuracy"
equivalent = ["linear-bn-relu", "linear-relu-bn"]
"""


def test_study_run_twice_then_report(tmp_path, capsys):
    path, db = tmp_path / "tiny.toml", tmp_path / "s.db"
    path.write_text(STUDY)
    run = ["study", "run", path, "--store", db, "--executor", "sequential"]
    code, out, err = run_cli(capsys, *run)
    assert code == 0, err
    assert "6 to train" in err and "half-positive" in out
    code, out, err = run_cli(capsys, *run)
    assert code == 0 and "0 to train" in err  # the second run trains nothing

    md = tmp_path / "findings.md"
    code, out, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "md",
                             "-o", md)
    assert code == 0, err
    text = md.read_text()
    assert "## Tiny study" in text and "### half-positive: " in text and "stage chain" in text
    assert f"layerorder study run {path} --scale quick --store {db}" in text
    assert any(p.suffix == ".png" for p in tmp_path.iterdir())
    page = tmp_path / "findings.html"
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "-o", page)
    assert code == 0, err
    html = page.read_text()
    assert "<svg" in html and "half-positive" in html and "<script" not in html
    if chromium_available() is None:  # the page as a reader's browser shows it
        check = check_page(page)
        assert not check.console_errors and not check.requests
        assert {"tiny-half-positive", "tiny-same-accuracy"} <= set(check.section_ids)
        assert all(f["width"] > 100 and f["height"] > 50 for f in check.figures)
        assert "Headline answers" in check.text
    # the compact JSON: each claim's verdict with the per-seed values it rests on
    doc_path = tmp_path / "findings.json"
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "json",
                           "-o", doc_path)
    assert code == 0, err
    doc = json.loads(doc_path.read_text())
    findings = evaluate_findings([load_study(path)], "quick", db)
    by_id = {c["id"]: c for c in doc["claims"]}
    assert set(by_id) == {"half-positive", "same-accuracy"}
    for c in findings.results[0].claims:
        rec = by_id[c.claim.id]
        assert rec["outcome"] == c.verdict.outcome and rec["kind"] == c.claim.kind
        assert f"### {c.claim.id}: " in text and rec["scale_regime"]["dataset"] == "synthetic"
        assert [e["values"] for e in rec["estimates"]] == [list(e.values)
                                                          for e in c.verdict.estimates]
    assert by_id["half-positive"]["estimates"][0]["n"] == 3  # one value per seed
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "json",
                           "-o", doc_path)
    assert code == 0, err  # its own earlier output is overwritten, as the other formats are
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "json",
                           "-o", md)
    assert code == 2 and "was not written by layerorder" in err
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "md",
                           "-o", tmp_path / "tiny.toml")
    assert code == 2 and "was not written by layerorder" in err  # never overwrites others
    assert path.read_text() == STUDY

    code, out, _ = run_cli(capsys, "study", "show", path)
    assert code == 0 and "half-positive" in out and "scale quick" in out

    # the page again from the JSON alone: no store, the same verdicts, text and figures
    code, _, err = run_cli(capsys, "study", "report", path, "--store", db, "--format", "json",
                           "-o", doc_path)
    again = tmp_path / "again.md"
    code, _, err = run_cli(capsys, "study", "report", "--from", doc_path, "--format", "md",
                           "-o", again)
    assert code == 0, err
    strip = lambda t, stem: [ln.replace(stem, "X") for ln in t.splitlines()  # noqa: E731
                             if not ln.startswith(("Generated by", "- Machine:"))]
    assert strip(again.read_text(), "again_") == strip(text, "findings_")
    for fig in tmp_path.glob("findings_*.png"):
        twin = tmp_path / fig.name.replace("findings_", "again_")
        assert twin.read_bytes() == fig.read_bytes()
    from layerorder.report.findings_json import findings_from_json

    rebuilt = findings_from_json([("f", doc_path.read_text())])
    assert [c.verdict for c in rebuilt.results[0].claims] == [
        c.verdict for c in findings.results[0].claims]


def test_study_list_names_the_builtin_studies(capsys):
    code, out, _ = run_cli(capsys, "study", "list")
    assert code == 0
    for name in ("bn-activation", "dropout-bn", "learning-rate", "pooling", "residual-units"):
        assert name in out


def test_report_before_any_run_and_bad_input_exit_2(tmp_path, capsys):
    db = tmp_path / "none.db"
    cases = [
        (["study", "report", "pooling", "--store", db], "no store"),
        (["study", "run", "poolin", "--store", db], "did you mean 'pooling'"),
        (["study", "run", "pooling", "--all", "--store", db], "not both"),
        (["study", "run", "--store", db], "pass --all"),
        (["study", "run", "pooling", "--scale", "huge", "--store", db], "no scale 'huge'"),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, *args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    assert not db.exists()  # nothing was created by a refused command


def test_study_run_takes_the_execution_settings_as_declared():
    import typer

    from layerorder.cli.app import app
    from layerorder.cli.options import cli_flags, settings_for
    from layerorder.experiment.configuration.settings import EXECUTION

    group = typer.main.get_command(app).commands["study"]
    options = {p.name: p for p in group.commands["run"].params}
    shown = settings_for("study")
    assert {s.name for s in shown} >= {"executor", "workers", "device", "ray_address"}
    for s in shown:  # nothing that changes a run's result: a study's settings are its file's
        assert s.role == EXECUTION, s.name
        assert options[s.name].opts[0] == cli_flags(s)[0] and s.help.rstrip(".") in (
            options[s.name].help)


def test_report_from_json_bad_input_exit_2(tmp_path, capsys):
    junk, old = tmp_path / "junk.json", tmp_path / "old.json"
    junk.write_text("not json")
    old.write_text(json.dumps({"schema": 1, "claims": []}))
    for args, message in [
        (["--from", junk], "not JSON"),
        (["--from", old], "not a findings JSON of schema 2"),
        (["--from", tmp_path / "missing.json"], "--from: no file"),
        (["pooling", "--from", old], "give no study names or --all with it"),
    ]:
        code, _, err = run_cli(capsys, "study", "report", *args, "-o", tmp_path / "x.md",
                               "--format", "md")
        assert code == 2 and message in err and "Traceback" not in err, err


def test_show_lists_the_cpu_scale_with_minutes_and_regime(capsys):
    code, out, err = run_cli(capsys, "study", "show", "residual-units")
    assert code == 0, err
    text = " ".join(out.split())  # the console wraps long lines
    assert "scale cpu: 75 runs, 32.5 min (2-core CPU, 2 workers, 2026-12-04)" in text
    assert "regime: dataset mnist1d (corr_noise=0.45); arch resnet; depth 20, 56, 110;" in text
    assert "optimizer sgd; schedule step; epochs 12; lr 0.1" in text
    code, out, _ = run_cli(capsys, "study", "show", "transformer-warmup")
    text = " ".join(out.split())
    assert code == 0 and "dataset mnist1d (patch=5)" in text and "depth 6, 12" in text
    # claims at some scales only
    assert "init-grad" in text and "first-update" in text and "cpu, full" in text
    code, out, _ = run_cli(capsys, "study", "list")
    assert code == 0 and "cpu" in out and "38.5" in out  # columns wrap on a narrow terminal
