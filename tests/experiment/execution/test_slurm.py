"""``--executor slurm``'s submitter: importing submitit leaves the process's logging alone, and
a missing sbatch is refused before anything is stored (the jobs themselves run in
``tests/cli/test_cli_worker.py``, on a real single-node SLURM)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from layerorder.errors import ConfigError
from layerorder.experiment.execution import slurm

pytest.importorskip("submitit")

# in a fresh interpreter: in this one submitit may be imported already
KEEPS_HANDLERS = """
import logging, os, sys
handler = logging.FileHandler(sys.argv[1], mode="w")  # as pytest's own log handler is
logging.getLogger().addHandler(handler)
from layerorder.experiment.execution.slurm import require_submitit
require_submitit("local")
logging.getLogger().warning("still written")
handler.flush()
assert "still written" in open(sys.argv[1]).read(), "a handler of the process was closed"
assert "SUBMITIT_LOG_LEVEL" not in os.environ
"""


def test_importing_submitit_keeps_the_process_logging_handlers(tmp_path):
    done = subprocess.run([sys.executable, "-c", KEEPS_HANDLERS, str(tmp_path / "log")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_no_sbatch_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="no SLURM here"):
        slurm.require_submitit("slurm")
    slurm.require_submitit("local")  # the local executor needs no SLURM
