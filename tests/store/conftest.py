"""The store's contract runs on both backends: each test that takes ``location`` (defined in
``tests/conftest.py``) or ``store`` runs once on an SQLite file and once on a PostgreSQL server."""

from __future__ import annotations

import pytest

from layerorder.store import Store


@pytest.fixture
def store(location):
    with Store.open(location) as s:
        yield s
