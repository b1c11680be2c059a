"""The search history table: its columns are the ``SearchStep`` fields, outcomes are checked,
a new start replaces a search's history (not another's), and older stores read as empty."""

import dataclasses
import math

import pytest

from layerorder.store import SearchStep, Store, StoreError, migrations
from layerorder.store import connect as store_connect
from layerorder.store.records import SEARCH_OUTCOMES, SEARCH_STEP_FIELDS


def steps(search: str, stage: int = 1) -> list[SearchStep]:
    return [SearchStep(search, stage, "round", "conv-bn-relu", "kept", "", 1, 1, 91.5, 2),
            SearchStep(search, stage, "round", "bn-conv-relu", "dropped", "rank 2 of 2", 1, 2,
                       math.nan, 2)]


def test_the_table_holds_the_record_fields(store):
    assert tuple(store._conn.columns("search_steps")) == SEARCH_STEP_FIELDS


def test_outcomes_belong_to_their_stage():
    for kind, outcomes in SEARCH_OUTCOMES.items():
        for outcome in outcomes:
            SearchStep("s", 0, kind, "conv-relu", outcome, "")
    with pytest.raises(StoreError, match="not one of a round stage"):
        SearchStep("s", 1, "round", "conv-relu", "best", "")


def test_a_new_start_replaces_only_that_search(location):
    with Store.open(location) as store:
        exp = store.experiment("search-a-round1", {"a": 1})
        assert exp.id == 1
        store.record_search(steps("search-a"), start=True)
        store.record_search(steps("search-b"), start=True)
        first = store.search_steps("search-a")
        assert [s.rank for s in first] == [1, 2]
        assert first[0].mean_acc == 91.5 and first[1].mean_acc is None  # NaN is stored as NULL
        store.record_search(steps("search-a", stage=2)[:1], start=True)
        assert [(s.stage, s.spec) for s in store.search_steps("search-a")] == [
            (2, "conv-bn-relu")]
        assert len(store.search_steps("search-b")) == 2
        assert {s.search for s in store.search_steps()} == {"search-a", "search-b"}


def test_a_step_stored_again_reads_as_the_latest(store):
    """A replaced step moves to the end of its stage, as SQLite's REPLACE moves its row."""
    store.experiment("search-a-round1", {"a": 1})
    first, second = steps("search-a")
    store.record_search([first, second], start=True)
    store.record_search([dataclasses.replace(first, rank=3)])
    assert [(s.spec, s.rank) for s in store.search_steps("search-a")] == [
        ("bn-conv-relu", 2), ("conv-bn-relu", 3)]


def test_a_store_older_than_the_table_reads_as_no_search(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        m.setattr(migrations, "SCHEMA_VERSION", 3)
        Store.open(path).close()
    monkeypatch.setattr(store_connect, "writable", lambda path: False)
    with Store.open(path, create=False, read_only=True) as store:
        assert store.schema_version() == 3
        assert store.search_steps() == []
