"""The guard ends a command's whole process group: when the command exits, when it is told to
stop, and when the process that started it is killed outright."""

import os
import signal
import subprocess
import sys
import time

from tests.reliability.processes import alive

GUARD = os.path.join(os.path.dirname(__file__), "..", "..", "src", "layerorder", "trials",
                     "guard.py")


def _family_command(pidfile) -> list[str]:
    """A command that starts a grandchild in its group, writes both pids, and sleeps."""
    code = (
        "import os, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pidfile)!r} + '.tmp', 'w').write(f'{{os.getpid()}} {{p.pid}}')\n"
        f"os.replace({str(pidfile)!r} + '.tmp', {str(pidfile)!r})\n"
        "time.sleep(120)\n"
    )
    return [sys.executable, "-c", code]


def _pids(pidfile, timeout=30.0) -> list[int]:
    deadline = time.time() + timeout
    while not pidfile.exists():
        assert time.time() < deadline, "the command did not start"
        time.sleep(0.05)
    return [int(p) for p in pidfile.read_text().split()]


def _gone_within(pids, seconds) -> bool:
    deadline = time.time() + seconds
    while alive(pids) and time.time() < deadline:
        time.sleep(0.1)
    return not alive(pids)


def test_the_exit_status_is_the_commands():
    code = subprocess.run([sys.executable, GUARD, "--", sys.executable, "-c",
                           "import sys; sys.exit(3)"]).returncode
    assert code == 3
    assert subprocess.run([sys.executable, GUARD, "--", "no-such-program-xyz"]).returncode == 127


def test_sigterm_ends_the_command_and_what_it_started(tmp_path):
    pidfile = tmp_path / "pids"
    guard = subprocess.Popen([sys.executable, GUARD, "--", *_family_command(pidfile)])
    pids = _pids(pidfile)
    guard.send_signal(signal.SIGTERM)
    assert guard.wait(timeout=30) == 128 + signal.SIGTERM
    assert _gone_within(pids, 10)


def test_a_killed_parent_takes_the_command_and_its_children_with_it(tmp_path):
    pidfile = tmp_path / "pids"
    command = _family_command(pidfile)
    starter = (f"import subprocess, sys, time\n"
               f"subprocess.Popen([sys.executable, {GUARD!r}, '--', *{command!r}])\n"
               f"time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", starter])
    pids = _pids(pidfile)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _gone_within(pids, 10), "a process of the command outlived its driver by 10 s"
