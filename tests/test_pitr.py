"""Point-in-time recovery with pgBackRest through `gridgeo db archive`, on a throwaway
private cluster of the test's own (own folder, own port; never the suite's cluster)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from gridgeo.db.cluster import Cluster
from tests.conftest import free_port


def test_recovery_to_a_time_between_two_writes() -> None:
    root = Path(tempfile.mkdtemp(prefix="gridgeo-pitr-"))
    root.chmod(0o755)  # the cluster's owner (postgres, when run as root) works in here
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDGEO_", "PYGEOAPI_"))}
    env.update(GRIDGEO_HOME=str(root / "home"), GRIDGEO_PG_PORT=str(port))

    def gridgeo(*args: str, ok: bool = True) -> str:
        done = subprocess.run([sys.executable, "-m", "gridgeo.cli", *args], env=env,
                              capture_output=True, text=True, timeout=300)
        assert (done.returncode == 0) == ok, done.stderr
        return done.stderr

    cluster = Cluster(home=root / "home", port=port)
    try:
        # Only the cluster: no gridgeo database and extensions, so the backups stay small.
        cluster.create()
        cluster.start()
        gridgeo("db", "archive", "enable")  # archiving on, first full backup
        with psycopg.connect(cluster.admin_url(), autocommit=True) as conn:
            conn.execute("CREATE TABLE casework (id integer PRIMARY KEY, note text)")
            conn.execute("INSERT INTO casework VALUES (1, 'written at t1')")
            between = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
            conn.execute("INSERT INTO casework VALUES (2, 'written at t2')")
        refused = gridgeo("db", "archive", "recover", "--to", "yesterday-ish", ok=False)
        assert "not a moment PostgreSQL understands" in refused and "Traceback" not in refused
        gridgeo("db", "archive", "recover", "--to", str(between))
        with psycopg.connect(cluster.admin_url(), autocommit=True) as conn:
            rows = conn.execute("SELECT id, note FROM casework ORDER BY id").fetchall()
            assert rows == [(1, "written at t1")]
            conn.execute("INSERT INTO casework VALUES (3, 'after recovery')")  # writable
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
