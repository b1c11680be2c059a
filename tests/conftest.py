import os

# pytest-xdist's workers get COLUMNS=80; the CLI's tables are read at the width a log or pipe
# gets without it (120), as in a run without xdist
os.environ.pop("COLUMNS", None)

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("layerorder", deadline=None, max_examples=200)
settings.load_profile("layerorder")

# one thread per pytest-xdist worker (the workers share the cores); two without xdist
torch.set_num_threads(1 if "PYTEST_XDIST_WORKER" in os.environ else min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    """Share one data cache across the test session (outside the user's home)."""
    if "LAYERORDER_CACHE_DIR" not in os.environ:
        os.environ["LAYERORDER_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
