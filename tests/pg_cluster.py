"""A throwaway PostgreSQL cluster for the tests and the reliability runs: Debian's server
binaries, a data directory in a temporary folder, a free TCP port on localhost, trust
authentication, run as a non-root user (PostgreSQL refuses to run as root).

``python tests/pg_cluster.py start DIR`` prints the URL of a new cluster in DIR and leaves it
running; ``python tests/pg_cluster.py stop DIR`` stops it (what ``.ci/run`` does).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

USER = "layerorder"  # the cluster's superuser (not an operating-system account)
DATABASE = "layerorder"
RUN_AS = "postgres"  # the operating-system account the server runs as when we are root


class Unavailable(RuntimeError):
    """No server can be started here; the message says why."""


def bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise Unavailable("PostgreSQL's server binaries are not installed"
                          " (apt-get install postgresql)")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser") is None:
        raise Unavailable("running as root without 'runuser' to start the server as another user")
    try:
        import pwd

        pwd.getpwnam(RUN_AS)
    except KeyError as exc:
        raise Unavailable(f"running as root and there is no '{RUN_AS}' user to run the"
                          " server as") from exc
    return ["runuser", "-u", RUN_AS, "--", *cmd]


@dataclass
class Cluster:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = _as_server_user([str(bin_dir() / "pg_ctl"), "-D", str(self.data), *args])
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                   " -c max_connections=200")
        self._ctl("-w", "-l", str(self.root / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def schema_url(self, schema: str | None = None) -> str:
        return new_schema(self.url, schema)

    def close(self) -> None:
        """Stop at once and remove every file."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start(root: str | os.PathLike[str] | None = None, password: str | None = None) -> Cluster:
    """initdb and start a cluster in ``root`` (a new temporary folder by default). With
    ``password``, connections over TCP must give it (SCRAM); otherwise every one is trusted."""
    folder = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="layerorder-pg-"))
    folder.mkdir(parents=True, exist_ok=True)
    binaries = bin_dir()
    if os.geteuid() == 0:
        shutil.chown(folder, RUN_AS)
    cluster = Cluster(folder, _free_port())
    auth = ["-A", "trust"]
    if password is not None:
        secret = folder / "password"
        secret.write_text(password)
        if os.geteuid() == 0:
            shutil.chown(secret, RUN_AS)
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}"]
    init = _as_server_user([str(binaries / "initdb"), "-D", str(cluster.data), *auth,
                            "-U", USER, "--no-sync"])
    done = subprocess.run(init, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise Unavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"the server did not start: {exc.stderr.strip()[-300:]}") from exc
    env = {**os.environ, **({"PGPASSWORD": password} if password is not None else {})}
    created = subprocess.run(
        [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", USER,
         DATABASE], capture_output=True, text=True, timeout=60, env=env)
    if created.returncode != 0:
        cluster.stop()
        raise Unavailable(f"createdb failed: {created.stderr.strip()[-300:]}")
    return cluster


@contextmanager
def running(module: Any, what: str, **options: Any) -> Iterator[Any]:
    """A throwaway server of ``module`` (this one, or ``tests.slurm_cluster``), closed after;
    the test skips, with the reason in one line, where none can be started."""
    import pytest

    try:
        cluster = module.start(**options)
    except module.Unavailable as exc:
        pytest.skip(f"no {what} can be started here: {exc}")
    try:
        yield cluster
    finally:
        cluster.close()


def new_schema(url: str, schema: str | None = None) -> str:
    """A fresh, empty schema on the server at ``url``; returns the URL that works in it."""
    import psycopg

    schema = schema or f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python tests/pg_cluster.py start|stop DIR", file=sys.stderr)
        return 2
    action, root = argv
    if action == "start":
        try:
            cluster = start(root)
        except Unavailable as exc:
            print(f"no PostgreSQL server: {exc}", file=sys.stderr)
            return 1
        (Path(root) / "port").write_text(str(cluster.port))
        print(cluster.url)
        return 0
    port = Path(root, "port")
    if port.exists():
        Cluster(Path(root), int(port.read_text())).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
