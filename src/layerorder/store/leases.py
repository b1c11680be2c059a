"""Run leases: a claimed run is reserved for ``lease`` seconds, and its driver renews the lease.

The pattern of Optuna's ``RDBStorage(heartbeat_interval, grace_period)``. Claiming a run writes
``lease_until = now + lease``; a ``Heartbeat`` thread in the driver renews the leases of every
run it holds every ``lease / 4`` seconds. A running run whose lease has expired (its driver was
frozen, lost its machine, or ran on a host whose processes cannot be checked from here) can be
claimed by any driver on any host; the first driver's late result is then discarded, since a run
is finished only by the owner that holds it (``Store.finish_run``). Hosts must agree on the time
to within a fraction of the lease.
"""

from __future__ import annotations

import contextlib
import threading
import time

DEFAULT_LEASE = 60.0  # seconds; the ``lease`` setting of ``layerorder compare``
RENEWALS_PER_LEASE = 4  # a lease survives three missed heartbeats


def lease_expired(lease_until: float | None, now: float | None = None) -> bool:
    """True when a lease has run out; a run without a lease (None) is judged by its owner."""
    return lease_until is not None and lease_until < (time.time() if now is None else now)


class Heartbeat:
    """Renews ``owner``'s leases in ``path`` from a daemon thread (with its own connection)
    until stopped. Use as a context manager around the work that holds the runs."""

    def __init__(self, path: str, owner: str, lease: float = DEFAULT_LEASE) -> None:
        self.path, self.owner, self.lease = path, owner, float(lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="layerorder-heartbeat", daemon=True)
        self.renewals = 0  # heartbeats that reached the store

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _beat(self) -> None:
        from layerorder.store.db import Store
        from layerorder.store.vanished import file_identity

        store, opened = None, None
        while not self._stop.wait(self.lease / RENEWALS_PER_LEASE):
            # A store that is busy, unreachable or briefly missing is tried again at the next
            # beat; three missed beats let the lease expire, as they should. Nothing may end
            # this thread early: that would let every lease run out under a live driver.
            try:
                now = file_identity(self.path)
                if store is not None and now != opened:  # deleted or restored: follow the path
                    store.close()
                    store = None
                if now is None:
                    continue
                if store is None:  # the main connection restores a deleted file, not this one
                    store = Store.open(self.path, create=False, restore=False)
                    opened = now
                store.renew_leases(self.owner, self.lease)
                self.renewals += 1
            except Exception:  # noqa: BLE001 - see above; the next beat tries again
                if store is not None:
                    with contextlib.suppress(Exception):
                        store.close()
                store = None
        if store is not None:
            store.close()
