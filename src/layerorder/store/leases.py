"""Run leases: a claimed run is reserved for ``lease`` seconds, and its driver renews the lease.

The pattern of Optuna's ``RDBStorage(heartbeat_interval, grace_period)``. Claiming a run writes
``lease_until = now + lease``; a ``Heartbeat`` thread in the driver renews the leases of every
run it holds every ``lease / 4`` seconds. A running run whose lease has expired (its driver was
frozen, lost its machine, or ran on a host whose processes cannot be checked from here) can be
claimed by any driver on any host; the first driver's late result is then discarded, since a run
is finished only by the owner that holds it (``Store.finish_run``). Hosts must agree on the time
to within a fraction of the lease. The thread is ``store.heartbeat.Heartbeat``.
"""

from __future__ import annotations

import time

DEFAULT_LEASE = 60.0  # seconds; the ``lease`` setting of ``layerorder compare``
RENEWALS_PER_LEASE = 4  # a lease survives three missed heartbeats


def lease_expired(lease_until: float | None, now: float | None = None) -> bool:
    """True when a lease has run out; a run without a lease (None) is judged by its owner."""
    return lease_until is not None and lease_until < (time.time() if now is None else now)
