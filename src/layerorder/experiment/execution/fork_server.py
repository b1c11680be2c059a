"""What the pool's fork server imports before it forks any worker (its one "preload" module).

On platforms that have it, the process pool starts its workers through multiprocessing's fork
server rather than as fresh interpreters: the server is spawned once per driver process (a clean
interpreter that never touched CUDA or started a thread pool), imports torch and the training code
once, here, and then forks each worker from that state in milliseconds. A spawned worker spent 2-3
s of CPU importing the same things, every time a pool started and every time a dead worker was
replaced. Importing this module anywhere but in that server would tie the importing process to its
parent, so nothing else imports it.

The server is tied to the driver (its parent) before the heavy imports, so a driver killed while
the server still imports torch leaves nothing behind (``lifeline.die_with``, the watchdog alone:
the server is shared by pools started from any of the driver's threads, and the kernel's signal
follows the thread that started a process). A driver killed in the instant before that tie leaves
the server to init (pid 1), and the server ends at once; under a subreaper other than init it
would end only once its imports are over, when multiprocessing's own loop finds no client left.
"""

import os

from layerorder.experiment.execution.lifeline import die_with

_driver = os.getppid()  # the process that started this server: multiprocessing spawns it
if _driver == 1:  # the driver died before this line, and this server was handed to init
    os._exit(1)
die_with(_driver, kernel=False)

import torch  # noqa: E402, F401
import torch._dynamo  # noqa: E402, F401 - torch.optim's optimizers import it on their first use

import layerorder.experiment.execution.shipping  # noqa: E402, F401
import layerorder.experiment.execution.worker  # noqa: E402, F401
