"""What the CLI prints and refuses: markup in names, unwritable paths, empty experiments."""

from tests.helpers import TINY, run_cli, tiny_store


def test_markup_in_names_is_printed_as_text(tmp_path, capsys):
    db = tmp_path / "s.db"
    name = "[/x] exp [bold]"
    code, out, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "1",
        "--name",
        name,
        "--store",
        db,
        "--no-report",
    )
    assert code == 0, err
    assert name in err
    code, out, err = run_cli(capsys, "runs", "--store", db)
    assert code == 0 and "[/x] exp" in out


def test_paths_that_cannot_be_written_fail_before_anything_runs(tmp_path, capsys):
    db = tmp_path / "s.db"
    code, _, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--order",
        "standard",
        "--seeds",
        "1",
        "--store",
        db,
        "--report-path",
        tmp_path / "no" / "r.html",
    )
    assert code == 2 and "--report-path" in err and not db.exists()
    tiny_store(capsys, db, checkpoint=False)
    code, _, err = run_cli(capsys, "export", "--store", db, "-o", tmp_path / "no" / "x.csv")
    assert code == 2 and "does not exist" in err


def test_report_of_an_experiment_without_finished_runs(tmp_path, capsys):
    from layerorder.store import RunSpec, Store

    db = tmp_path / "s.db"
    with Store.open(db) as store:
        exp = store.experiment("empty", {"a": 1})
        store.add_runs(exp.id, [RunSpec("k1", "standard", 0, 0.01, {"epochs": 1})])
    code, _, err = run_cli(capsys, "report", "--store", db, "-o", tmp_path / "r.html")
    assert code == 2 and "no finished runs" in err
