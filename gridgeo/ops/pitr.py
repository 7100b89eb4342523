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
    archive.pgbackrest("check")  # a segment reaches the repository, or this fails
    archive.pgbackrest("backup", "--type=full")


def base_backup(archive: WalArchive) -> None:
    """A new base backup (incremental after the first): recovery replays less WAL."""
    archive.pgbackrest("backup")


def latest_backup(archive: WalArchive) -> str:
    """The label of the newest backup in the repository."""
    import json

    info = json.loads(archive.pgbackrest("info", "--output=json"))
    backups = info[0]["backup"] if info else []
    if not backups:
        raise ArchiveError("the repository holds no backup yet: run `gridgeo db archive enable`")
    return str(backups[-1]["label"])


def recover(archive: WalArchive, target_time: str, backup_set: str | None = None) -> None:
    """Rebuild the cluster as it was at ``target_time`` (e.g. 2026-12-07 09:30:00+08) and
    open it for writing. The current state is overwritten: take a backup first.
    pgBackRest picks the newest backup that ended before the target unless ``backup_set``
    names one (its stop time is kept in whole seconds)."""
    archive.cluster.stop()
    chosen = [f"--set={backup_set}"] if backup_set else []
    archive.pgbackrest("restore", "--delta", "--type=time", f"--target={target_time}",
                       "--target-action=promote", *chosen)
    try:
        archive.cluster.start()
        archive.cluster.wait_until_writable(deadline=time.monotonic() + 120)
    except ClusterError as exc:
        raise ArchiveError(f"the recovered cluster did not start: {exc}") from exc
