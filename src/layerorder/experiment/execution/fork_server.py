"""What the pool's fork server imports before it forks any worker (its one "preload" module).

On Linux without CUDA the process pool starts its workers through multiprocessing's fork server
rather than as fresh interpreters (``executors.pool_context``): the server is spawned once per
driver process (a clean interpreter that never touched CUDA or started a thread pool of torch's),
imports torch and the training code once, here, and then forks each worker from that state, which
then imports only the driver's main module (spawn's preparation). A spawned worker spent 2-3 s of
CPU importing torch and the rest every time a pool started and every time a dead worker was
replaced. Nothing else imports this module.

The server is tied to the driver (its parent) while it imports, so a driver killed meanwhile
leaves nothing behind (``lifeline.die_with``, the watchdog alone: the server is shared by pools
started from any of the driver's threads, and the kernel's signal follows the thread that started
a process). Once the imports are done (or have failed) the watchdog is stopped, so it is not among
the threads the server forks from (numpy's OpenBLAS keeps its own, which handle a fork); from then
on multiprocessing's own loop ends the server once the driver and every worker it forked are gone
(each worker is tied to the driver itself).
"""

import os

from layerorder.experiment.execution.lifeline import die_with

# the environment this server was started with, the driver's then: a worker removes from its own
# what the driver has removed since (``pool_worker.worker_main``), and keeps what the imports set
INHERITED = frozenset(os.environ)
_untie = die_with(os.getppid(), kernel=False)

try:
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401 - torch.optim's optimizers import it on their first use

    import layerorder.experiment.execution.shipping  # noqa: F401
    import layerorder.experiment.execution.worker  # noqa: F401
finally:  # an import that fails is swallowed by multiprocessing: the workers import it themselves
    _untie()
