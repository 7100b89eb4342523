"""Continuous WAL archiving and point-in-time recovery of the private cluster with
pgBackRest (``gridgeo db archive ...``).

PostgreSQL hands every finished WAL segment to ``pgbackrest archive-push``; base backups
(``pgbackrest backup``) plus that WAL let ``recover`` rebuild the cluster as it was at any
moment since the first backup. pgBackRest runs as the cluster's owner (``postgres`` when
gridgeo runs as root). docs/operations.md shows the same for an existing server.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gridgeo.db.cluster import Cluster, ClusterError

STANZA = "gridgeo"


class ArchiveError(RuntimeError):
    """pgBackRest refused; the message is its own last line."""


@dataclass(frozen=True)
class WalArchive:
    """A pgBackRest repository for one cluster, in a folder of its own."""

    cluster: Cluster
    repo: Path

    @property
    def config(self) -> Path:
        return self.repo / "pgbackrest.conf"

    def config_text(self) -> str:
        return f"""[global]
repo1-path={self.repo / 'repository'}
repo1-retention-full=2
log-path={self.repo / 'log'}
lock-path={self.repo / 'lock'}
spool-path={self.repo / 'spool'}
log-level-console=warn
log-level-file=info
start-fast=y
compress-type=lz4
process-max=2

[{STANZA}]
pg1-path={self.cluster.datadir}
pg1-port={self.cluster.port}
pg1-socket-path={self.cluster.socket_dir}
pg1-user={self.cluster.superuser}
"""

    def pgbackrest(self, *args: str) -> str:
        """Run pgbackrest as the cluster's owner; its output."""
        cmd = ["pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *args]
        owner = self.cluster.owner
        if owner:
            cmd = ["runuser", "-u", owner, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise ArchiveError(f"pgbackrest {args[0]} failed: {last}")
        return done.stdout


def enable(archive: WalArchive) -> None:
    """Archive every WAL segment from now on and take the first full backup."""
    archive.repo.mkdir(parents=True, exist_ok=True)
    os.chmod(archive.repo, 0o750)
    archive.config.write_text(archive.config_text(), encoding="utf-8")
    owner = archive.cluster.owner
    if owner:
        subprocess.run(["chown", "-R", f"{owner}:{owner}", str(archive.repo)], check=True)
    command = f"pgbackrest --config={archive.config} --stanza={STANZA} archive-push %p"
    archive.cluster.configure({"wal_level": "replica", "archive_mode": "on",
                               "archive_command": f"'{command}'"})
    archive.cluster.restart()
    archive.pgbackrest("stanza-create")
    # The backup waits until its WAL reaches the repository: it fails if archiving does.
    archive.pgbackrest("backup", "--type=full")


def base_backup(archive: WalArchive) -> None:
    """A new base backup (incremental after the first): recovery replays less WAL."""
    archive.pgbackrest("backup")


def backup_before(archive: WalArchive, epoch: float) -> str:
    """The newest backup that ended by ``epoch``. pgBackRest keeps stop times in whole
    seconds and itself wants one strictly earlier, which skips a backup taken in the same
    second as the target."""
    import json

    info = json.loads(archive.pgbackrest("info", "--output=json"))
    done = [b for b in (info[0]["backup"] if info else [])
            if b["timestamp"]["stop"] <= int(epoch)]
    if not done:
        raise ArchiveError("no backup ended before that moment; recovery starts from a "
                           "backup: pick a later moment")
    return str(done[-1]["label"])


def _epoch(cluster: Cluster, moment: str) -> float:
    import psycopg

    with psycopg.connect(cluster.admin_url(), autocommit=True) as conn:
        try:
            row = conn.execute("SELECT extract(epoch FROM %s::timestamptz)", (moment,)).fetchone()
        except psycopg.errors.DataError as exc:
            raise ArchiveError(f"{moment!r} is not a moment PostgreSQL understands; write "
                               "e.g. 2026-12-07 09:30:00+08") from exc
    assert row is not None
    return float(row[0])


def recover(archive: WalArchive, target_time: str) -> None:
    """Rebuild the cluster as it was at ``target_time`` (e.g. 2026-12-07 09:30:00+08) and
    open it for writing. What was written after that moment is gone: take a backup first."""
    cluster = archive.cluster
    cluster.start()
    epoch = _epoch(cluster, target_time)
    backup_set = backup_before(archive, epoch)
    archive.pgbackrest("check")  # the WAL written until now reaches the repository
    cluster.stop()
    archive.pgbackrest("restore", "--delta", "--type=time", f"--target={target_time}",
                       "--target-action=promote", f"--set={backup_set}")
    try:
        cluster.start()
        cluster.wait_until_writable(deadline=time.monotonic() + 120)
    except ClusterError as exc:
        raise ArchiveError(f"the recovered cluster did not start: {exc}") from exc
