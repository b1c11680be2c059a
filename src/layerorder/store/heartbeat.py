"""The lease heartbeat: a daemon thread that renews the leases of every run its driver holds,
every ``lease / RENEWALS_PER_LEASE`` seconds, through a connection of its own (see
``store.leases`` for what a lease is)."""

from __future__ import annotations

import contextlib
import threading

from layerorder.store.db import Store
from layerorder.store.leases import DEFAULT_LEASE, RENEWALS_PER_LEASE
from layerorder.store.location import is_url
from layerorder.store.vanished import file_identity

_SERVER = (0, 0)  # what a server store's "file" is: always there, never replaced


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
        store, opened = None, None
        while not self._stop.wait(self.lease / RENEWALS_PER_LEASE):
            # A store that is busy, unreachable or briefly missing is tried again at the next
            # beat; three missed beats let the lease expire, as they should. Nothing may end
            # this thread early: that would let every lease run out under a live driver.
            try:
                now = _SERVER if is_url(self.path) else file_identity(self.path)
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
