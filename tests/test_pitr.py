"""Point-in-time recovery with pgBackRest, on a throwaway cluster of the test's own (own
folder, own port; never the suite's cluster)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg

from gridgeo.db.cluster import Cluster
from gridgeo.ops.pitr import WalArchive, enable, latest_backup, recover
from tests.conftest import free_port


def test_recovery_to_a_time_between_two_writes() -> None:
    root = Path(tempfile.mkdtemp(prefix="gridgeo-pitr-"))
    root.chmod(0o755)  # the cluster's owner (postgres, when run as root) works in here
    cluster = Cluster(home=root / "home", port=free_port())
    archive = WalArchive(cluster, root / "archive")
    try:
        cluster.ensure_running()
        enable(archive)  # archiving on, first full backup
        backup_set = latest_backup(archive)
        with psycopg.connect(cluster.admin_url("gridgeo"), autocommit=True) as conn:
            conn.execute("CREATE TABLE casework (id integer PRIMARY KEY, note text)")
            conn.execute("INSERT INTO casework VALUES (1, 'written at t1')")
            between = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
            conn.execute("INSERT INTO casework VALUES (2, 'written at t2')")
        archive.pgbackrest("check")  # the WAL holding both writes is in the repository
        # Within the backup's last second pgBackRest would not pick it by itself: name it.
        recover(archive, str(between), backup_set)
        with psycopg.connect(cluster.admin_url("gridgeo"), autocommit=True) as conn:
            rows = conn.execute("SELECT id, note FROM casework ORDER BY id").fetchall()
            assert rows == [(1, "written at t1")]
            conn.execute("INSERT INTO casework VALUES (3, 'after recovery')")  # writable
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
