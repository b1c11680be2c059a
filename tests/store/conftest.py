"""The store's contract runs on both backends: each test that takes ``location`` (or
``store``) runs once on an SQLite file and once on a PostgreSQL server."""

from __future__ import annotations

import pytest

from layerorder.store import Store

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path) -> str:
    """Where a new, empty store lives: a file path, or a URL on the test server."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(location):
    with Store.open(location) as s:
        yield s
