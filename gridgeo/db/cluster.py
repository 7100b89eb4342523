"""A private PostgreSQL cluster under the project's state folder.

PostgreSQL refuses to run as root, so when gridgeo runs as root the cluster
belongs to the ``postgres`` system user. With ``GRIDGEO_DATABASE_URL`` set none
of this is used.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gridgeo.settings import Settings

PG_VERSION = "15"
DB_NAME = "gridgeo"
DB_USER = "gridgeo"


class ClusterError(RuntimeError):
    """The private cluster could not be created or started."""


@dataclass(frozen=True)
class Cluster:
    """Where the private cluster lives and who runs it."""

    home: Path
    port: int

    @property
    def pg_bin(self) -> Path:
        return Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")

    @property
    def link(self) -> Path:
        return self.home / "pg"

    @property
    def storage(self) -> Path:
        """Where the cluster's files are: the link's target, which the server's user can
        reach even when it cannot enter the folders above the link (see _storage_dir)."""
        return self.link.resolve() if self.link.is_symlink() else self.link

    @property
    def datadir(self) -> Path:
        return self.storage / "data"

    @property
    def socket_dir(self) -> Path:
        return self.storage / "run"

    @property
    def password_file(self) -> Path:
        return self.home / "db-password"

    @property
    def url(self) -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://{DB_USER}:{password}@127.0.0.1:{self.port}/{DB_NAME}"

    def admin_url(self, dbname: str = "postgres") -> str:
        """Superuser connection through the cluster's own socket (peer auth)."""
        return (f"postgresql:///{dbname}?host={self.socket_dir}&port={self.port}"
                f"&user={self._superuser()}")

    # -- lifecycle -----------------------------------------------------------

    def ensure_running(self) -> None:
        """Create the cluster if missing, start it if stopped, create the database."""
        self.create()
        self.start()
        self._ensure_database()

    def create(self) -> None:
        """The cluster's files (initdb), unless they exist; no database in it yet."""
        if not (self.datadir / "PG_VERSION").exists():
            self._init()

    def start(self) -> None:
        if not self.is_running():
            try:
                self._run("pg_ctl", "-D", str(self.datadir), "-l",
                          str(self.storage / "server.log"), "-w", "-t", "60", "start")
            except ClusterError as exc:
                raise ClusterError(f"{exc}; {self._last_fatal()}") from None

    def restart(self) -> None:
        self.stop()
        self.start()

    def configure(self, settings: dict[str, str]) -> None:
        """Add server settings (postgresql.auto.conf: later lines win); restart to apply."""
        self._write(self.datadir / "postgresql.auto.conf",
                    "".join(f"{k} = {v}\n" for k, v in settings.items()))

    def wait_until_writable(self, deadline: float) -> None:
        """After a recovery: wait until the server has left recovery and takes writes."""
        import psycopg

        while time.monotonic() < deadline:
            with psycopg.connect(self.admin_url(), autocommit=True) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if row is not None and not row[0]:
                return
            time.sleep(0.2)
        raise ClusterError("the cluster is still in recovery; see its server.log")

    @property
    def owner(self) -> str | None:
        """The system user that runs the server: None means the current user."""
        return self._owner()

    @property
    def superuser(self) -> str:
        return self._superuser()

    def stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        if not (self.datadir / "postmaster.pid").exists():
            return False
        result = subprocess.run(
            [str(self.pg_bin / "pg_isready"), "-q", "-h", str(self.socket_dir), "-p",
             str(self.port)], check=False)
        return result.returncode == 0

    # -- internals -----------------------------------------------------------

    def _owner(self) -> str | None:
        """The system user that runs the server: None means the current user."""
        return "postgres" if os.geteuid() == 0 else None

    def _last_fatal(self) -> str:
        """The server log's last FATAL line, with a hint for the usual one (a busy port)."""
        log = self.storage / "server.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        fatal = next((ln for ln in reversed(lines) if "FATAL" in ln or "could not bind" in ln),
                     "see " + str(log))
        if "could not bind" in "\n".join(lines[-20:]) or "Address already in use" in fatal:
            return (f"port {self.port} is taken by another server: stop it or set "
                    "GRIDGEO_PG_PORT to a free port")
        return fatal

    def _superuser(self) -> str:
        return self._owner() or pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, tool: str, *args: str) -> str:
        cmd = [str(self.pg_bin / tool), *args]
        owner = self._owner()
        if owner:
            cmd = ["runuser", "-u", owner, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ClusterError(f"{tool} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def _storage_dir(self) -> Path:
        """A folder the server's user can write: the project folder when it can reach it."""
        owner = self._owner()
        if owner is None:
            return self.home / "pg-cluster"
        probe = subprocess.run(["runuser", "-u", owner, "--", "test", "-x", str(self.home)],
                               check=False)
        if probe.returncode == 0:
            return self.home / "pg-cluster"
        # The project sits under a folder postgres cannot enter (e.g. /root).
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
        return Path("/var/lib/gridgeo") / digest

    def _init(self) -> None:
        if not (self.pg_bin / "initdb").exists():
            raise ClusterError(
                f"PostgreSQL {PG_VERSION} is not installed; run `make setup` "
                "(or set GRIDGEO_DATABASE_URL to an existing PostGIS)")
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o755)
        storage = self._storage_dir()
        if storage.exists():
            shutil.rmtree(storage)
        (storage / "run").mkdir(parents=True)
        owner = self._owner()
        if owner:
            entry = pwd.getpwnam(owner)
            for path in (storage, storage / "run"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink() if self.link.is_symlink() else shutil.rmtree(self.link)
        if storage != self.link:
            self.link.symlink_to(storage)
        self._run("initdb", "-D", str(self.datadir), "-U", self._superuser(), "--auth-local=peer",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        conf = self.datadir / "postgresql.auto.conf"
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "shared_buffers": "'512MB'",
            "work_mem": "'32MB'",
            "maintenance_work_mem": "'256MB'",
            # JIT costs 0.03-0.3 s per query on these workloads and wins nothing.
            "jit": "off",
            "fsync": "on",
            "max_connections": "200",
        }
        self._write(conf, "".join(f"{k} = {v}\n" for k, v in settings.items()))
        # Local socket: the invoking OS user (root included) may act as the superuser.
        me = pwd.getpwuid(os.geteuid()).pw_name
        superuser = self._superuser()
        self._write(self.datadir / "pg_ident.conf",
                    f"gridgeo {me} {superuser}\ngridgeo {superuser} {superuser}\n")
        self._write(self.datadir / "pg_hba.conf",
                    "local all all peer map=gridgeo\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n", append=False)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(18))
            os.chmod(self.password_file, 0o600)

    def _write(self, path: Path, text: str, append: bool = True) -> None:
        """Write a file in the data folder as the server's user."""
        tee = ["tee", "-a", str(path)] if append else ["tee", str(path)]
        owner = self._owner()
        subprocess.run(["runuser", "-u", owner, "--", *tee] if owner else tee, input=text,
                       text=True, stdout=subprocess.DEVNULL, check=True)

    def _ensure_database(self) -> None:
        import psycopg
        from psycopg import sql

        password = self.password_file.read_text().strip()
        for _ in range(50):
            try:
                admin = psycopg.connect(self.admin_url(), autocommit=True)
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        else:
            raise ClusterError("the private cluster started but does not accept connections")
        with admin:
            if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                 (DB_USER,)).fetchone():
                admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(DB_USER), sql.Literal(password)))
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 (DB_NAME,)).fetchone():
                admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DB_NAME), sql.Identifier(DB_USER)))
        prepare_database(self.admin_url(DB_NAME))


EXTENSIONS = ("postgis", "pgrouting", "pgcrypto", "unaccent")


def prepare_database(admin_url: str) -> None:
    """Create the extensions gridgeo needs (they need a superuser or trusted role)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        for ext in EXTENSIONS:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")


def cluster_from(settings: Settings) -> Cluster:
    return Cluster(home=settings.home, port=settings.pg_port)


def database_url(settings: Settings) -> str:
    """The URL gridgeo connects with: the configured one or the private cluster's."""
    if settings.database_url:
        return settings.database_url
    cluster = cluster_from(settings)
    if not cluster.password_file.exists():
        raise ClusterError("no database: run `gridgeo db start` or set GRIDGEO_DATABASE_URL")
    return cluster.url


def direct_url(settings: Settings) -> str:
    """The URL maintenance connections use: never through a pooler (their session-level
    ``gridgeo.maintenance`` would reach other clients' transactions there)."""
    return settings.database_direct_url or database_url(settings)


def admin_url(settings: Settings, dbname: str) -> str:
    """A connection that may create databases and extensions: the private cluster's
    superuser, or the configured URL's own role (directly, not through a pooler) pointed
    at ``dbname``."""
    import psycopg

    if settings.database_direct_url or settings.database_url:
        return psycopg.conninfo.make_conninfo(direct_url(settings), dbname=dbname)
    return cluster_from(settings).admin_url(dbname)
