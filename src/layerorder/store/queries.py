"""The read side of ``Store``: experiments, runs, epochs, probes, counts, integrity."""

from __future__ import annotations

from layerorder.store.errors import StoreError
from layerorder.store.records import (
    STATUSES,
    EpochRecord,
    ExperimentRecord,
    ProbeRecord,
    RunRecord,
    SearchStep,
    config_hash,
    epoch_from_row,
    experiment_from_row,
    probe_from_row,
    run_from_row,
    search_step_from_row,
)
from layerorder.store.sql import StoreConnection


class StoreQueries:
    """Read-only queries; mixed into ``Store``, which provides ``_conn`` and ``path``."""

    path: str
    shown: str  # provided by Store
    _conn: StoreConnection  # provided by Store

    def experiments(self) -> list[ExperimentRecord]:
        """All experiments, newest first."""
        rows = self._conn.execute("SELECT * FROM experiments ORDER BY id DESC")
        return [experiment_from_row(row) for row in rows]

    def latest_experiment(self) -> ExperimentRecord | None:
        row = self._conn.execute("SELECT * FROM experiments ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else experiment_from_row(row)

    def stored_experiment(self, name: str, config: dict) -> ExperimentRecord | None:
        """The latest generation of (name, config), as ``Store.experiment`` finds it, without
        creating it: None when it is not stored."""
        row = self._conn.execute(
            "SELECT * FROM experiments WHERE name = ? AND config_hash = ? "
            "ORDER BY generation DESC LIMIT 1",
            (name, config_hash(config)),
        ).fetchone()
        return None if row is None else experiment_from_row(row)

    def find_experiment(self, name_or_id: str) -> ExperimentRecord:
        """By id when ``name_or_id`` is an integer, else the latest experiment with that name."""
        text = str(name_or_id).strip()
        row = None
        if text.isdigit():
            row = self._conn.execute("SELECT * FROM experiments WHERE id = ?", (int(text),))
            row = row.fetchone()
        if row is None:
            row = self._conn.execute(
                "SELECT * FROM experiments WHERE name = ? ORDER BY id DESC LIMIT 1", (text,)
            ).fetchone()
        if row is None:
            raise StoreError(self._no_experiment_message(text))
        return experiment_from_row(row)

    def _no_experiment_message(self, text: str) -> str:
        names = [r[0] for r in self._conn.execute("SELECT DISTINCT name FROM experiments")]
        if not names:
            return f"no experiment '{text}': store '{self.shown}' has no experiments yet"
        return (
            f"no experiment '{text}' in store '{self.shown}'; "
            f"experiments: {', '.join(sorted(names))} (or pass an experiment id)"
        )

    def run(self, run_id: int) -> RunRecord:
        return self._run_row(self._conn, run_id)

    def _run_row(self, conn: StoreConnection, run_id: int) -> RunRecord:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"no run with id {run_id} in store '{self.shown}'")
        return run_from_row(row)

    def runs(self, experiment_id: int, status: str | None = None) -> list[RunRecord]:
        """The experiment's runs in the order they were added, optionally of one status."""
        if status is None:
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE experiment_id = ? ORDER BY id", (experiment_id,)
            )
        else:
            _check_status(status)
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE experiment_id = ? AND status = ? ORDER BY id",
                (experiment_id, status),
            )
        return [run_from_row(row) for row in rows]

    def epochs(self, run_id: int) -> list[EpochRecord]:
        rows = self._conn.execute("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        return [epoch_from_row(row) for row in rows]

    def epochs_for_experiment(self, experiment_id: int) -> dict[int, list[EpochRecord]]:
        """Every run of the experiment (by id) with its epochs; runs without epochs map to []."""
        rows = self._conn.execute(
            "SELECT r.id AS rid, e.* FROM runs r LEFT JOIN epochs e ON e.run_id = r.id "
            "WHERE r.experiment_id = ? ORDER BY r.id, e.epoch",
            (experiment_id,),
        )
        result: dict[int, list[EpochRecord]] = {}
        for row in rows:
            epochs = result.setdefault(row["rid"], [])
            if row["epoch"] is not None:
                epochs.append(epoch_from_row(row))
        return result

    def probes(self, run_id: int) -> list[ProbeRecord]:
        rows = self._conn.execute(
            "SELECT * FROM probes WHERE run_id = ? ORDER BY epoch, kind, name", (run_id,)
        )
        return [probe_from_row(row) for row in rows]

    def search_steps(self, search: str | None = None) -> list[SearchStep]:
        """The history of every ``layerorder search`` (or of the one named ``search``), by
        search and stage, each stage in the order it was recorded. Empty for a store older than
        the table."""
        if not self._has_table("search_steps"):
            return []
        where, args = ("WHERE search = ?", (search,)) if search is not None else ("", ())
        rows = self._conn.execute(
            f"SELECT * FROM search_steps {where} ORDER BY search, stage, rowid", args)
        return [search_step_from_row(row) for row in rows]

    def _has_table(self, name: str) -> bool:
        return self._conn.has_table(name)

    def counts(self, experiment_id: int) -> dict[str, int]:
        """Number of runs per status; every status is present (0 when none)."""
        counts = dict.fromkeys(STATUSES, 0)
        rows = self._conn.execute(
            "SELECT status, count(*) FROM runs WHERE experiment_id = ? GROUP BY status",
            (experiment_id,),
        )
        counts.update({status: n for status, n in rows})
        return counts

    def integrity_check(self) -> str:
        """``'ok'`` for a healthy store: SQLite's ``PRAGMA integrity_check`` on a file, the
        store's own rules on a server (``PgConnection.integrity_check``)."""
        return self._conn.integrity_check()

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row.fetchone()[0])


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise StoreError(f"unknown run status '{status}'; use one of: {', '.join(STATUSES)}")
