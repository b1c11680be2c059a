"""The metrics file: what a run's lines mean, and the one-line errors for lines that break it."""

import math

import pytest

from layerorder.trials.protocol import MetricsError, Reported, line_of, read_metrics


def test_epochs_and_final_lines_read_back(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(line_of(1, {"val_loss": 0.5, "acc": 0.7}) + line_of(2, {"val_loss": 0.4})
                    + "\n" + line_of(None, {"acc": 0.9}, final=True))
    reported, offset = read_metrics(path)
    assert reported.epochs == {1: {"val_loss": 0.5, "acc": 0.7}, 2: {"val_loss": 0.4}}
    assert reported.final_metrics() == {"val_loss": 0.4, "acc": 0.9}  # a final line wins
    assert offset == path.stat().st_size


def test_a_line_still_being_written_is_read_next_time(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1, "m": 1.0}\n{"epoch": 2, "m"')
    reported, offset = read_metrics(path)
    assert sorted(reported.epochs) == [1]
    with path.open("a") as fh:
        fh.write(': 2.0}\n')
    reported, _ = read_metrics(path, reported, offset)
    assert reported.epochs == {1: {"m": 1.0}, 2: {"m": 2.0}}


def test_nan_and_null_values(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1, "loss": NaN, "acc": null}\n')
    reported, _ = read_metrics(path)
    assert math.isnan(reported.epochs[1]["loss"]) and "acc" not in reported.epochs[1]


@pytest.mark.parametrize(("text", "fragment"), [
    ("not json at all\n", "line 2 of the metrics file is not JSON"),
    ("[1, 2]\n", "line 2 of the metrics file is not a JSON object"),
    ('{"m": 1.0}\n', 'needs "epoch"'),
    ('{"epoch": -1, "m": 1.0}\n', 'needs "epoch"'),
    ('{"epoch": 2, "m": "high"}\n', "metric 'm' must be a number"),
])
def test_a_line_that_breaks_the_protocol_is_named(tmp_path, text, fragment):
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1, "m": 1.0}\n' + text)
    with pytest.raises(MetricsError, match=fragment):
        read_metrics(path)


def test_a_missing_file_reports_nothing(tmp_path):
    reported, offset = read_metrics(tmp_path / "none.jsonl")
    assert reported == Reported() and offset == 0
