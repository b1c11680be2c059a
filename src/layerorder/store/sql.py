"""What the store asks of a database connection, on SQLite (``connect.SqliteConnection``) and on
PostgreSQL (``postgres.PgConnection``). Statements are written once, in SQLite's SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from layerorder.store.errors import StoreError


class Executes(Protocol):
    """Runs a statement: what a migration needs (``sqlite3.Connection`` is one)."""

    def execute(self, statement: str, params: Sequence[Any] = ..., /) -> Any: ...


class StoreConnection(Executes, Protocol):
    """The open connection behind a ``Store``."""

    lock_rows: str  # appended to a SELECT whose rows the same transaction then writes
    claim_lock: str  # appended to the SELECT of the run a claim takes
    errors: tuple[type[BaseException], ...]  # what a failed statement raises

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]], /) -> Any: ...
    def transaction(self) -> AbstractContextManager[StoreConnection]: ...
    @property
    def in_transaction(self) -> bool: ...
    def now(self) -> float: ...
    def has_table(self, name: str) -> bool: ...
    def columns(self, table: str) -> list[str]: ...
    def serialize(self, key: str) -> None: ...
    def integrity_check(self) -> str: ...
    def reset_identities(self) -> None: ...  # after rows were inserted with their ids
    def failure(self, message: str, exc: BaseException) -> StoreError: ...
    def close(self) -> None: ...
