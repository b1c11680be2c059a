"""The Transformer's and the RNN's orders as names (``layerorder.placements``): parsed and
refused without torch."""

import subprocess
import sys

import pytest

from layerorder.errors import BlockError
from layerorder.placements import parse_placement, parse_recurrent, placement_specs


def test_every_listed_placement_parses_to_itself():
    assert [parse_placement(s).spec for s in placement_specs()] == placement_specs()
    assert parse_placement("preln").spec == "pre-ln" and parse_placement("none").final_norm is False
    assert parse_recurrent("lstm-ln").norm_ih == "ln"
    assert parse_recurrent("gru-bn-ih").norm_hh is False


def test_a_bad_name_is_refused_with_the_closest_one():
    with pytest.raises(BlockError, match="did you mean 'pre-ln'"):
        parse_placement("pre-lm")
    with pytest.raises(BlockError, match="CELL-NORMS"):
        parse_recurrent("rnn-ln")


def test_reading_them_imports_no_torch():
    code = "import sys, layerorder.placements, layerorder.archs; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
