"""A private PostgreSQL cluster on a spare port, which a test may stop, kill and start again.

The machine's PostgreSQL (port 5432) is shared by every test run on the machine, so outages are staged on a cluster
of our own: ``initdb`` into a fresh directory, ``pg_ctl start`` on a spare port with trust authentication. PostgreSQL
refuses to run as root, so when the tests run as root every command runs as the ``postgres`` OS user, in a directory
that user owns (pytest's own tmp directories are private to root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("GATEWAY_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"


def available() -> bool:
    """Whether a private cluster can be made here (the binaries exist and, as root, the ``postgres`` user too)."""
    if not (PG_BIN / "initdb").exists():
        return False
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        return False
    return True


@dataclass
class PgCluster:
    """One private cluster: ``url`` is a database in it (``gateway``), created at the first start."""

    port: int
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/gateway"

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(PG_BIN / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=True)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        self._wait_up()

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session at once; ``immediate`` is a crash (recovery runs at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def new_database(self) -> str:
        """A new, empty database in this cluster; returns its URL."""
        name = f"gw_{secrets.token_hex(4)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _wait_up(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=2) as connection:
                    if connection.execute("SELECT 1 FROM pg_database WHERE datname = 'gateway'").fetchone() is None:
                        connection.execute("CREATE DATABASE gateway")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _owned_tmpdir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gw-pgcluster-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(OS_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    return root


@contextmanager
def pg_cluster(port: int) -> Iterator[PgCluster]:
    """A started private cluster on ``port``; stopped and deleted at the end, whatever state the test left it in."""
    cluster = PgCluster(port, _owned_tmpdir())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.is_running():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
