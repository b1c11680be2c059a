"""compare --vary, --baseline, --margin and --until-decided from the command line, and report's
re-analysis of what they stored."""

import json

from layerorder.store import Store
from tests.helpers import TINY, run_cli


def test_vary_gives_conditions_an_interaction_and_grows_by_level(tmp_path, capsys):
    db, page = tmp_path / "s.db", tmp_path / "r.html"
    args = ["compare", *TINY, "--order", "standard,no-norm", "--seeds", "3", "--store", db,
            "--report-path", page]
    code, out, err = run_cli(capsys, *args, "--vary", "batch_size=16,64", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [c["name"] for c in data["conditions"]] == ["batch_size=16", "batch_size=64"]
    assert data["factors"] == ["batch_size"]
    (inter,) = data["interactions"]
    assert inter["factor"] == "batch_size" and 0 <= inter["p"] <= 1
    assert {d["condition"] for d in data["decisions"]} == {"batch_size=16", "batch_size=64"}
    assert "At batch_size=16:" in data["verdict"]["text"]
    assert "depends on batch_size" in data["verdict"]["text"] or "No evidence" in (
        data["verdict"]["text"]
    )
    html = page.read_text()
    assert 'id="fig-conditions"' in html and 'id="fig-differences"' in html
    assert "Effect of the order by condition" in html
    code, _, err = run_cli(capsys, *args, "--vary", "batch_size=16,64,128", "--no-report")
    assert code == 0 and "6 to train" in err  # only the new level's runs
    with Store.open(db) as store:
        (exp,) = store.experiments()
        levels = sorted({r.config["batch_size"] for r in store.runs(exp.id)})
    assert levels == [16, 64, 128]
    code, out, _ = run_cli(capsys, "export", "--store", db, "--format", "csv")
    header, *lines = out.strip().splitlines()
    column = header.split(",").index("condition")
    assert {line.split(",")[column] for line in lines} == {
        "batch_size=16", "batch_size=64", "batch_size=128"
    }


def test_baseline_until_decided_and_report_options(tmp_path, capsys):
    db = tmp_path / "s.db"
    args = ["compare", *TINY, "--order", "standard,no-norm,preact", "--seeds", "2",
            "--until-decided", "--max-seeds", "4", "--baseline", "standard", "--store", db,
            "--no-report"]
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["looks"] == [2, 4] and data["baseline"] == "standard"
    assert [(d["a"], d["b"]) for d in data["decisions"]] == [
        ("no-norm", "standard"), ("preact", "standard")
    ]
    assert "look at 2 seeds:" in err
    decided_early = all(d["decision"] != "undecided" for d in data["decisions"]) and (
        "stopping" in err.split("look at 2 seeds:")[1].splitlines()[0]
    )
    # the second round trains only the orders of the pairs the first look left undecided
    second = {x for d in data["decisions"] if d["decided_at"] != 2 for x in (d["a"], d["b"])}
    assert data["trained_now"] == (6 if decided_early else 6 + 2 * len(second))
    if second:
        assert "training another round for the orders of the undecided pairs" in err
    assert "Against the baseline standard" in data["verdict"]["text"]
    code, out2, err2 = run_cli(capsys, *args, "--json")
    assert code == 0 and json.loads(out2)["trained_now"] == 0
    assert json.loads(out2)["verdict"] == data["verdict"]  # the same looks replayed
    page = tmp_path / "r.md"
    code, _, err = run_cli(capsys, "report", "--store", db, "-o", page, "-f", "md",
                           "--margin", "100")
    assert code == 0, err
    assert "equivalent (±100)" in page.read_text()  # any difference is inside 100 points


def test_bad_analysis_options_are_one_line_errors(tmp_path, capsys):
    db = tmp_path / "s.db"
    for flags, fragment in [
        (["--vary", "nonsense=1,2"], "cannot vary 'nonsense'"),
        (["--baseline", "preact"], "--baseline 'preact' is not one of the orders"),
        (["--margin", "0"], "margin must be a number > 0"),
        (["--until-decided", "--seeds", "1"], "rounds of at least 2 seeds"),
    ]:
        code, out, err = run_cli(capsys, "compare", *TINY, "--order", "standard,no-norm",
                                 "--store", db, *flags)
        assert code == 2 and fragment in err and "Traceback" not in err, err
    assert not db.exists()
    code, _, err = run_cli(capsys, "compare", *TINY, "--order", "standard", "--seeds", "2",
                           "--store", db, "--no-report")
    code, _, err = run_cli(capsys, "report", "--store", db, "--baseline", "preact")
    assert code == 2 and "baseline 'preact' is not among the orders" in err
