"""PgBouncer and PostgreSQL servers a test starts on loopback: own folder, port, pid file.

Both refuse to run as root, so as root they run as ``postgres`` (runuser) in a folder
under the system temp dir that user owns (pytest's tmp_path is private to root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

OWNER = "postgres" if os.geteuid() == 0 else None


def as_owner(*cmd: str) -> list[str]:
    return ["runuser", "-u", OWNER, "--", *cmd] if OWNER else list(cmd)


def run_as_owner(*cmd: str) -> str:
    proc = subprocess.run(as_owner(*cmd), capture_output=True, text=True, check=False,
                          timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


@contextmanager
def owned_dir(prefix: str) -> Iterator[Path]:
    """A scratch folder the server's user owns; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if OWNER:
        shutil.chown(path, OWNER, OWNER)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_until(ready: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Poll ``ready`` until it says yes; a bounded wait that names what never happened."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {seconds} s")
        time.sleep(0.1)


def accepts(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def write_owned(path: Path, text: str) -> None:
    path.write_text(text)
    if OWNER:
        shutil.chown(path, OWNER, OWNER)


@contextmanager
def pgbouncer(folder: Path, port: int, server_url: str, pool_size: int = 1) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``server_url``'s database; yields the
    URL a client connects to (same user, password and database name)."""
    server = psycopg.conninfo.conninfo_to_dict(server_url)
    user, password, dbname = server["user"], server["password"], server["dbname"]
    write_owned(folder / "userlist.txt", f'"{user}" "{password}"\n')
    write_owned(folder / "pgbouncer.ini", f"""\
[databases]
{dbname} = host={server.get("host", "127.0.0.1")} port={server.get("port", 5432)} dbname={dbname}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 50
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
""")
    run_as_owner("/usr/sbin/pgbouncer", "-d", str(folder / "pgbouncer.ini"))
    url = psycopg.conninfo.make_conninfo(server_url, host="127.0.0.1", port=port)
    try:
        wait_until(lambda: accepts(url), "PgBouncer did not accept connections")
        yield url
    finally:
        pid_file = folder / "pgbouncer.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), 15)
            wait_until(lambda: not pid_file.exists(), "PgBouncer did not stop", 10)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg(tool: str, *args: str) -> str:
    return run_as_owner(str(PG_BIN / tool), *args)


def superuser_url(port: int, dbname: str = "postgres") -> str:
    return f"postgresql://{OWNER or os.environ.get('USER', 'postgres')}@127.0.0.1:{port}/{dbname}"


@contextmanager
def running_cluster(datadir: Path, port: int) -> Iterator[str]:
    """Start the cluster in ``datadir`` on loopback ``port``; stop it afterwards.
    fsync off: a throwaway cluster a test starts, never a deployment's."""
    options = (f"-p {port} -k {datadir.parent} -c listen_addresses=127.0.0.1 "
               "-c fsync=off -c full_page_writes=off")
    pg("pg_ctl", "-D", str(datadir), "-l", f"{datadir}.log", "-w", "-t", "30",
       "-o", options, "start")
    try:
        yield superuser_url(port)
    finally:
        pg("pg_ctl", "-D", str(datadir), "-m", "immediate", "-w", "stop")


def new_cluster(datadir: Path) -> None:
    """A fresh cluster, trusting loopback (a test's own, for replication too)."""
    pg("initdb", "-D", str(datadir), "-U", OWNER or os.environ.get("USER", "postgres"),
       "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")


def standby_of(primary_port: int, datadir: Path) -> None:
    """A streaming replica of the cluster on ``primary_port`` (pg_basebackup -R)."""
    pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U",
       OWNER or os.environ.get("USER", "postgres"), "-D", str(datadir), "-R",
       "-X", "stream", "-c", "fast", "--no-sync")
