import os
import shutil

# the tests' temporary folders (tmp_path) in memory where the machine has a tmpfs with room, set
# here, before pytest makes the first one, and inherited by the xdist workers: nearly every test
# writes an SQLite store, which commits each run's claim and result with an fsync, and on this
# machine's disk the suite spent about a tenth of its time waiting on them (2026-12-06: 358.7 s
# against 395.6 s back to back; the 20,000-run store test 11.6 s against 22.9 s). What the tests
# check is the same on either: durability across killed processes does not depend on the fsync.
# A developer's own choice (PYTEST_DEBUG_TEMPROOT, --basetemp) stands; a small /dev/shm (a
# container's 64 MiB) is passed over for the disk. The suite leaves about 100 MB a run, of which
# pytest keeps the last three.
_SHM = "/dev/shm"
if ("PYTEST_DEBUG_TEMPROOT" not in os.environ and "PYTEST_XDIST_WORKER" not in os.environ
        and os.path.isdir(_SHM) and os.access(_SHM, os.W_OK | os.X_OK)
        and shutil.disk_usage(_SHM).free >= 2 * 2**30):
    os.environ["PYTEST_DEBUG_TEMPROOT"] = _SHM

# pytest-xdist's workers get COLUMNS=80; the CLI's tables are read at the width a log or pipe
# gets without it (120), as in a run without xdist
os.environ.pop("COLUMNS", None)
if "PYTEST_XDIST_WORKER" in os.environ:
    # one thread per pytest-xdist worker (the workers share the cores), set before numpy and torch
    # load, which read it then (numpy's OpenBLAS would take every core otherwise), and inherited by
    # the processes the tests start (a CLI, an example script): beside the other worker, a second
    # thread spins more than it computes (measured on 2 cores, back to back, before runs obeyed
    # the variable: 491 s against 533 s with two OpenMP threads); a run takes no more than it
    # says (experiment/training/threads.py)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("layerorder", deadline=None, max_examples=200)
settings.load_profile("layerorder")

# one thread per pytest-xdist worker (above); two without xdist
torch.set_num_threads(1 if "PYTEST_XDIST_WORKER" in os.environ else min(2, os.cpu_count() or 1))


@pytest.fixture
def no_thread_cap(monkeypatch):
    """No thread cap from the environment (``experiment/training/threads.py``): the xdist workers
    set ``OMP_NUM_THREADS=1`` above, and a developer's shell may set any of them. Returns the
    monkeypatch, to set one."""
    from layerorder.experiment.training.threads import THREAD_VARIABLES

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    """Share one data cache across the test session (outside the user's home)."""
    if "LAYERORDER_CACHE_DIR" not in os.environ:
        os.environ["LAYERORDER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server for the store's tests: ``LAYERORDER_TEST_POSTGRES`` (the
    cluster ``.ci/run`` starts), or else a throwaway cluster started here for the session. The
    tests that need one skip, with the reason in one line, only where neither can be had."""
    url = os.environ.get("LAYERORDER_TEST_POSTGRES")
    if url:
        yield url
        return
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    from tests import pg_cluster

    with pg_cluster.running(pg_cluster, "PostgreSQL server") as cluster:
        yield cluster.url


@pytest.fixture
def postgres_url(postgres_server):
    """A PostgreSQL store of its own for one test: a fresh schema on the session's server."""
    from tests import pg_cluster

    return pg_cluster.new_schema(postgres_server)


@pytest.fixture(params=("sqlite", "postgresql"))
def location(request, tmp_path) -> str:
    """Where a new, empty store lives, once per backend: an SQLite file path, then a URL on
    the test server (``postgres_url``). The store's contract runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def slurm():
    """A throwaway single-node SLURM (``tests/slurm_cluster.py``): the environment that makes
    ``sbatch`` use it. Skips, with the reason in one line, where none can be started."""
    import shutil

    if shutil.which("sbatch") is None:
        pytest.skip("no SLURM here: sbatch is not installed (apt-get install slurm-wlm munge)")
    from tests import pg_cluster, slurm_cluster

    with pg_cluster.running(slurm_cluster, "SLURM") as cluster:
        yield cluster.env

