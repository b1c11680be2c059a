"""Times as the command line takes them (``--idle-exit``; ``--budget`` in tests/search)."""

import pytest

from layerorder.durations import seconds, split_amount
from layerorder.errors import ConfigError


def test_seconds():
    assert seconds("90", "--idle-exit") == 90
    assert seconds("5m", "--idle-exit") == 300
    assert seconds("1.5h", "--idle-exit") == 5400
    assert split_amount(" 30 ") == (30.0, "") and split_amount("2x") is None
    with pytest.raises(ConfigError, match="--idle-exit 'soon' is not a time"):
        seconds("soon", "--idle-exit")
