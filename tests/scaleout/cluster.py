"""Throwaway PostgreSQL servers for the scale-out tests: a primary made with `initdb` and a streaming read replica
made from it with `pg_basebackup -R`, each on a free port of 127.0.0.1, in a temporary folder removed afterwards.

Never the machine's shared cluster on 5432: these servers are stopped and restarted by the tests. PostgreSQL
refuses to run as root, so as root every server command runs as the `postgres` user (`runuser`), which owns the
folder; the tests connect over TCP with trust authentication as the superuser `edl`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

PG_BIN_ENV = "EDL_TEST_PG_BIN"
"""Folder of the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres); default: the newest
/usr/lib/postgresql/*/bin."""
SUPERUSER = "edl"
DATABASE = "edl"
SERVER_PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _version(bin_dir: Path) -> tuple[int, str]:
    name = bin_dir.parent.name
    return (int(name) if name.isdigit() else -1, name)


def find_server_binaries() -> Path | str:
    """The folder holding the server programs, or why there is none (the tests skip with that reason)."""
    chosen = os.environ.get(PG_BIN_ENV)
    candidates = (
        [Path(chosen)] if chosen else sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    )
    if not chosen and (on_path := shutil.which("pg_ctl")):
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all((folder / name).is_file() for name in SERVER_PROGRAMS):
            return folder
    where = chosen or "/usr/lib/postgresql/*/bin or PATH"
    return f"no PostgreSQL server binaries ({', '.join(SERVER_PROGRAMS)}) in {where}; set {PG_BIN_ENV}"


def run_as() -> tuple[list[str], str | None] | str:
    """(command prefix, owner of the server folders) for running the servers, or why they cannot run here."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "running as root and there is no 'postgres' user to run PostgreSQL as (it refuses root)"
    if not shutil.which("runuser"):
        return "running as root without `runuser` to run PostgreSQL as the 'postgres' user"
    return ["runuser", "-u", "postgres", "--"], "postgres"


@dataclass
class PgServer:
    """One PostgreSQL server of ours: its data folder, port and log; started, stopped and queried by the tests."""

    bin: Path
    data: Path
    port: int
    socket_dir: Path
    prefix: list[str]

    @property
    def log(self) -> Path:
        return self.data.with_suffix(".log")

    def url(self, database: str = DATABASE) -> str:
        """The SQLAlchemy URL of `database` on this server (psycopg 3)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        cmd = [*self.prefix, str(self.bin / program), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}\n{tail}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def connect(self, database: str = DATABASE) -> psycopg.Connection[Any]:
        """A new autocommit connection (the caller closes it)."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True, connect_timeout=5
        )

    def query(self, sql: str, *params: Any, database: str = DATABASE) -> list[tuple[Any, ...]]:
        """Rows of one statement, in autocommit, on a connection of its own."""
        with self.connect(database) as conn:
            cur = conn.execute(sql, params or None)
            return list(cur.fetchall()) if cur.description else []


def _replayed(replica: psycopg.Connection[Any], lsn: str) -> bool:
    row = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
    return bool(row and row[0])


@dataclass
class Cluster:
    """A primary and its streaming replica, in one temporary folder."""

    root: Path
    primary: PgServer
    replica: PgServer

    def wait_replayed(self, timeout: float = 10) -> float:
        """Seconds until the replica has replayed everything the primary had written when this was called."""
        lsn = self.primary.query("SELECT pg_current_wal_lsn()::text")[0][0]
        start = time.monotonic()
        with self.replica.connect() as conn:
            while not _replayed(conn, lsn):
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"the replica did not replay up to {lsn} in {timeout} s")
                time.sleep(0.001)
        return time.monotonic() - start

    def replay_lag_samples(self, count: int = 20) -> list[float]:
        """Seconds from a commit returning on the primary to its replay on the replica, for `count` small commits."""
        samples = []
        with self.primary.connect() as primary, self.replica.connect() as replica:
            primary.execute("CREATE TABLE IF NOT EXISTS scaleout_lag (at timestamptz)")
            for _ in range(count):
                lsn = primary.execute("INSERT INTO scaleout_lag VALUES (now()) RETURNING pg_current_wal_lsn()::text")
                target = str(lsn.fetchone()[0])
                start = time.monotonic()
                while not _replayed(replica, target):
                    if time.monotonic() - start > 10:
                        raise TimeoutError(f"the replica did not replay up to {target} in 10 s")
                    time.sleep(0.0005)
                samples.append(time.monotonic() - start)
        return samples

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            if server.is_running():
                with contextlib.suppress(RuntimeError):  # already gone: nothing left to stop
                    server.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 100
wal_level = replica
max_wal_senders = 4
hot_standby = on
wal_receiver_status_interval = 1s
log_min_messages = warning
"""


def make_cluster(bin_dir: Path, prefix: list[str], owner: str | None) -> Cluster:
    """initdb a primary, start it, create the `edl` database, then pg_basebackup -R a replica and start it."""
    root = Path(tempfile.mkdtemp(prefix="edl-scaleout-pg-"))
    if owner:
        shutil.chown(root, user=owner)
    primary = PgServer(bin_dir, root / "primary", free_port(), root, prefix)
    replica = PgServer(bin_dir, root / "replica", free_port(), root, prefix)
    cluster = Cluster(root, primary, replica)
    try:
        primary._run(
            "initdb", "-D", str(primary.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        with (primary.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(PRIMARY_SETTINGS.format(port=primary.port, sockets=root))
        with (primary.data / "pg_hba.conf").open("a", encoding="utf-8") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        primary.query(f"CREATE DATABASE {DATABASE}", database="postgres")
        primary._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER),
            *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )
        with (replica.data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"port = {replica.port}\n")
        replica.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
