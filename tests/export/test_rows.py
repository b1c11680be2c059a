"""``layerorder export``: Parquet read back with pandas equals the CSV; probe records in every
format that can hold them."""

import io
import json

import pandas as pd
import pytest

from tests.helpers import run_cli, tiny_store


def test_parquet_equals_csv_and_probes_export_everywhere(tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    db = tiny_store(capsys, tmp_path / "s.db", "--probe", orders="standard,act-first", seeds=2)
    code, csv_text, err = run_cli(capsys, "export", "--store", db)
    assert code == 0, err
    parquet = tmp_path / "epochs.parquet"
    code, _, err = run_cli(capsys, "export", "--store", db, "--format", "parquet", "-o", parquet)
    assert code == 0, err
    from_csv = pd.read_csv(io.StringIO(csv_text))
    from_parquet = pd.read_parquet(parquet)
    assert list(from_parquet.columns) == list(from_csv.columns)
    # missing values: None or '' in Parquet, NaN from CSV (which cannot tell them apart)
    from_parquet = from_parquet.replace("", None)
    pd.testing.assert_frame_equal(from_parquet.astype(object).where(from_parquet.notna(), None),
                                  from_csv.astype(object).where(from_csv.notna(), None),
                                  check_dtype=False)

    code, out, err = run_cli(capsys, "export", "--store", db, "--what", "probes", "--format",
                             "json")
    assert code == 0, err
    records = json.loads(out)
    assert {r["probe"] for r in records} == {"stage", "grad", "varshift", "recal", "fit"}
    stage = next(r for r in records if r["probe"] == "stage")
    assert isinstance(stage["hist"], list) and "unit_skewness" in stage and "order" in stage

    probes = tmp_path / "probes.parquet"
    code, _, err = run_cli(capsys, "export", "--store", db, "--what", "probes", "--format",
                           "parquet", "-o", probes)
    assert code == 0, err
    frame = pd.read_parquet(probes)
    assert len(frame) == len(records)
    stages = frame[frame.probe == "stage"]
    assert list(stages.iloc[0]["hist"]) == stage["hist"]
    assert frame[frame.probe == "recal"]["recalibrated_acc"].notna().all()
    fits = frame[frame.probe == "fit"]
    assert len(fits) == 4 and (fits.gap == fits.train_acc - fits.test_acc).all()

    code, out, _ = run_cli(capsys, "export", "--store", db, "--what", "probes")
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == len(records)
    first = table[table.probe == "stage"].iloc[0]["hist"]
    assert [int(v) for v in first.split(";")] == stage["hist"]


def test_parquet_needs_a_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, "export", "--store", tmp_path / "none.db", "--format",
                           "parquet")
    assert code == 2 and "give -o FILE.parquet" in err
