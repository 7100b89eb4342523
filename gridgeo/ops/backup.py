"""``gridgeo backup`` and ``gridgeo restore``: the database, the DEM, attachments and the
effective configuration in one tar archive with a manifest of checksums.

The database is a ``pg_dump`` of the ``gridgeo`` schema in custom format (extensions are
the server's: ``prepare_database`` makes them). Each table's rows are summed up as a count
and an md5 over its rows in text order; a restore compares them, and every file's sha256,
with the manifest, so a restored deployment is known to equal the one backed up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gridgeo import __version__
from gridgeo.settings import Settings

DUMP = "database.dump"
MANIFEST = "manifest.json"
CONFIG = "pygeoapi-config.yml"
# Policies let trusted maintenance sessions see every row (plugins/core/schema/002).
MAINTENANCE = "-c gridgeo.maintenance=on"
EDITORS_ROLE = "gridgeo_editors"


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why and what to do."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_checksums(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Rows and an md5 of each gridgeo table's rows, in the rows' text order."""
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'gridgeo' ORDER BY tablename")]
    sums = {}
    for table in tables:
        row = conn.execute(sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
            " FROM gridgeo.{} t").format(sql.Identifier(table))).fetchone()
        assert row is not None
        sums[table] = {"rows": int(row[0]), "md5": str(row[1])}
    return sums


def _run(command: list[str], what: str, url: str) -> None:
    env = {**os.environ, "PGOPTIONS": MAINTENANCE}
    done = subprocess.run([*command, f"--dbname={url}"], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        missing = "role \"" in done.stderr and "does not exist" in done.stderr
        hint = (f"; the backup grants rights to role {EDITORS_ROLE}: create it (CREATE ROLE "
                f"{EDITORS_ROLE} NOLOGIN) and restore again" if missing else "")
        raise BackupError(f"{what} failed{hint}: {done.stderr.strip().splitlines()[-1]}")


def _files(settings: Settings) -> dict[str, Path]:
    """Archive name -> file on disk: the DEM and every attachment."""
    found = {"data/dem.tif": settings.dem} if settings.dem.is_file() else {}
    attachments = settings.data_dir / "attachments"
    if attachments.is_dir():
        for path in sorted(p for p in attachments.rglob("*") if p.is_file()):
            found[f"data/attachments/{path.relative_to(attachments).as_posix()}"] = path
    return found


def backup(settings: Settings, database_url: str, effective_config: str,
           archive: Path) -> dict[str, Any]:
    """Write ``archive``; returns its manifest."""
    from gridgeo.db.pool import connect

    with tempfile.TemporaryDirectory(prefix="gridgeo-backup-") as tmp:
        staging = Path(tmp)
        with connect(database_url) as conn:
            # The sums and the dump read one snapshot (exported to pg_dump), so a write in
            # between (a worker's heartbeat, a request) cannot make them disagree.
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            tables = table_checksums(conn)
            _run(["pg_dump", "--format=custom", "--schema=gridgeo", "--no-owner",
                  "--enable-row-security", f"--snapshot={snapshot[0]}",
                  f"--file={staging / DUMP}"], "pg_dump", database_url)
            conn.commit()
        (staging / CONFIG).write_text(effective_config, encoding="utf-8")
        files = _files(settings)
        manifest = {
            "gridgeo_version": __version__, "created": datetime.now(UTC).isoformat(),
            "tables": tables,
            "files": {DUMP: sha256(staging / DUMP), CONFIG: sha256(staging / CONFIG),
                      **{name: sha256(path) for name, path in files.items()}},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        with tarfile.open(archive, "w") as tar:
            for name in (MANIFEST, DUMP, CONFIG):
                tar.add(staging / name, arcname=name)
            for name, path in files.items():
                tar.add(path, arcname=name)
    return manifest


def _unpack(archive: Path, into: Path) -> dict[str, Any]:
    """Extract and check every file against the manifest before anything is written."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive} is not a gridgeo backup archive ({exc})") from exc
    try:
        manifest: dict[str, Any] = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{archive} has no readable {MANIFEST}") from exc
    for name, expected in manifest["files"].items():
        path = into / name
        if not path.is_file() or sha256(path) != expected:
            raise BackupError(f"{name} in {archive} does not match its checksum; the archive "
                              "is damaged: use another backup")
    return manifest


def _check_empty(conn: psycopg.Connection) -> None:
    row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'gridgeo'").fetchone()
    if row and row[0]:
        raise BackupError("the database already has gridgeo tables; restore into an empty "
                          "database (create one and point GRIDGEO_DATABASE_URL at it)")


def _missing_extensions(conn: psycopg.Connection) -> list[str]:
    from gridgeo.db.cluster import EXTENSIONS

    have = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    return [name for name in EXTENSIONS if name not in have]


def _ensure_editors_role(conn: psycopg.Connection) -> None:
    """The role the dump grants to, made as migration core/004 makes it when allowed."""
    conn.execute(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{EDITORS_ROLE}') THEN
            CREATE ROLE {EDITORS_ROLE} NOLOGIN;
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN NULL; END $$""")


def restore(settings: Settings, database_url: str, admin_url: str,
            archive: Path) -> dict[str, Any]:
    """Restore ``archive`` into the empty database ``database_url`` and the files into
    GRIDGEO_HOME; verify both against the manifest. Returns the manifest."""
    from gridgeo.db.cluster import prepare_database
    from gridgeo.db.pool import connect

    with tempfile.TemporaryDirectory(prefix="gridgeo-restore-") as tmp:
        staging = Path(tmp)
        manifest = _unpack(archive, staging)
        with connect(database_url) as conn:
            _check_empty(conn)
            _ensure_editors_role(conn)
            conn.commit()
            missing = _missing_extensions(conn)
        if missing:
            try:
                prepare_database(admin_url)
            except psycopg.Error as exc:
                raise BackupError(f"the database lacks the extensions {', '.join(missing)} and "
                                  "gridgeo may not create them: a superuser must run CREATE "
                                  "EXTENSION for each, then restore again") from exc
        _run(["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error",
              "--enable-row-security", str(staging / DUMP)], "pg_restore", database_url)
        with connect(database_url) as conn:
            restored = table_checksums(conn)
        if restored != manifest["tables"]:
            differ = sorted(t for t in manifest["tables"]
                            if restored.get(t) != manifest["tables"][t])
            raise BackupError(f"restored tables differ from the backup: {', '.join(differ)}")
        _place_files(settings, staging, manifest)
    return manifest


def _place_files(settings: Settings, staging: Path, manifest: dict[str, Any]) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name in manifest["files"]:
        if name == "data/dem.tif":
            target = settings.dem
        elif name.startswith("data/"):
            target = settings.data_dir / name.removeprefix("data/")
        elif name == CONFIG:
            # For reference: the deployment's own config file is not overwritten.
            target = settings.home / "restored-pygeoapi-config.yml"
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staging / name, target)
