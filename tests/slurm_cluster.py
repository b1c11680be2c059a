"""A throwaway single-node SLURM for the tests: Debian's ``slurm-wlm`` and ``munge``, every file
(configuration, key, sockets, state, logs) in a temporary folder and every port free, so that
nothing of the machine's own set-up is read or changed. The commands (``sbatch``, ``squeue``)
find it through ``SLURM_CONF``.

slurmd launches jobs as their users, so it runs as root; where the tests do not, there is no
cluster (``Unavailable`` says why).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CONFIG = """\
ClusterName=layerorder-test
SlurmctldHost={host}
AuthType=auth/munge
AuthInfo=socket={root}/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmdSpoolDir={root}/spool
StateSaveLocation={root}/state
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class Unavailable(RuntimeError):
    """No SLURM can be started here; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.root / "slurm.conf")}

    def close(self) -> None:
        """Cancel every job and wait for it to end (so slurmd ends its job steps), then stop
        the daemons; any process left with this cluster's folder in its command is killed."""
        env = {**os.environ, **self.env}
        subprocess.run(["scancel", "--full", "--quiet", "-u", "root"], env=env,
                       capture_output=True, timeout=30, check=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            queue = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True,
                                   timeout=30, check=False)
            if queue.returncode != 0 or not queue.stdout.strip():
                break
            time.sleep(0.5)
        for pid_file in ("slurmd.pid", "slurmctld.pid", "munged.pid"):
            path = self.root / pid_file
            if path.exists():
                try:
                    os.kill(int(path.read_text().strip()), 15)
                except (ValueError, ProcessLookupError):
                    pass
        subprocess.run(["pkill", "-KILL", "-f", str(self.root)], capture_output=True,
                       check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    missing = [d for d in DAEMONS
               if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        raise Unavailable("slurmd must run as root to launch jobs, and the tests do not")
    root = Path(tempfile.mkdtemp(prefix="layerorder-slurm-"))
    for folder in ("spool", "state"):
        (root / folder).mkdir()
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    host = socket.gethostname().split(".")[0]
    (root / "slurm.conf").write_text(CONFIG.format(
        host=host, root=root, ctld_port=_free_port(), d_port=_free_port(),
        cpus=os.cpu_count() or 1))
    cluster = Cluster(root)
    env = {**os.environ, **cluster.env}
    sbin = Path("/usr/sbin")
    commands = [
        [str(sbin / "munged"), "--force", f"--socket={root}/munge.socket", f"--key-file={key}",
         f"--log-file={root}/munged.log", f"--pid-file={root}/munged.pid",
         f"--seed-file={root}/munged.seed"],
        [str(sbin / "slurmctld")],
        [str(sbin / "slurmd")],
    ]
    for cmd in commands:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            cluster.close()
            raise Unavailable(f"{Path(cmd[0]).name} did not start: "
                              f"{(done.stderr or done.stdout).strip()[-300:]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                               text=True, timeout=30).stdout.strip()
        if state == "idle":
            return cluster
        time.sleep(0.5)
    log = (root / "slurmd.log").read_text()[-300:] if (root / "slurmd.log").exists() else ""
    cluster.close()
    raise Unavailable(f"the SLURM node did not come up within 60 s: {log}")
