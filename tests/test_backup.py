"""`gridgeo backup` and `gridgeo restore`: the demo town into an empty database, checked
table by table and file by file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from gridgeo.db.pool import connect
from gridgeo.db.scratch import create_database, drop_database
from gridgeo.settings import get_settings
from tests.conftest import _admin_settings

CLI = [sys.executable, "-m", "gridgeo.cli"]


def table_sums(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an md5 of each gridgeo table's rows ordered by its primary key (written
    apart from gridgeo.ops.backup, which orders by the rows' text)."""
    sums = {}
    with connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'gridgeo'")]
        for table in tables:
            key = [r[0] for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid ="
                " i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indisprimary"
                " AND i.indrelid = %s::regclass ORDER BY a.attnum", (f"gridgeo.{table}",))]
            order = (sql.SQL(", ").join(sql.Identifier("t", k) for k in key) if key
                     else sql.SQL("t::text"))
            row = conn.execute(sql.SQL(
                "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY {})) FROM gridgeo.{} t"
            ).format(order, sql.Identifier(table))).fetchone()
            assert row is not None
            sums[table] = (int(row[0]), str(row[1]))
    return sums


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gridgeo(*args: str, url: str, home: Path, dem: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDGEO_", "PYGEOAPI_"))}
    env.update(GRIDGEO_DATABASE_URL=url, GRIDGEO_HOME=str(home))
    if dem is not None:
        env["GRIDGEO_DEM_PATH"] = str(dem)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture()
def empty_db() -> Iterator[str]:
    name = f"gridgeo_restore_{os.getpid()}"
    url = create_database(_admin_settings(), name, migrate=False)
    yield url
    drop_database(_admin_settings(), name)


def test_restore_gives_back_every_row_and_file(demo_db_url: str, empty_db: str,
                                               tmp_path: Path) -> None:
    home = tmp_path / "home"
    attachment = home / "data" / "attachments" / "2026" / "photo.jpg"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(os.urandom(4096))
    dem = get_settings().dem
    archive = tmp_path / "town.tar"
    made = _gridgeo("backup", str(archive), url=demo_db_url, home=home, dem=dem)
    assert made.returncode == 0, made.stderr
    # The suite's server beats on in job_workers; the archive's own check (below) covers it.
    before = {t: v for t, v in table_sums(demo_db_url).items() if t != "job_workers"}
    assert before["incidents"][0] > 0 and before["audit_log"][0] > 0

    restored_home = tmp_path / "restored"
    done = _gridgeo("restore", str(archive), url=empty_db, home=restored_home)
    assert done.returncode == 0, done.stderr
    assert "every checksum matches" in done.stderr
    assert {t: v for t, v in table_sums(empty_db).items() if t != "job_workers"} == before
    assert _digest(restored_home / "data" / "dem.tif") == _digest(dem)
    assert _digest(restored_home / "data" / "attachments" / "2026" / "photo.jpg") == \
        _digest(attachment)
    assert "resources:" in (restored_home / "restored-pygeoapi-config.yml").read_text()

    again = _gridgeo("restore", str(archive), url=empty_db, home=restored_home)
    assert again.returncode == 1 and "already has gridgeo tables" in again.stderr

    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as tar:
        dump = tar.getmember("database.dump")
    data = bytearray(archive.read_bytes())
    data[dump.offset_data + dump.size // 2] ^= 0xFF  # one byte of the dump, not a header
    damaged.write_bytes(bytes(data))
    refused = _gridgeo("restore", str(damaged), url=empty_db, home=restored_home)
    assert refused.returncode == 1
    assert "does not match its checksum" in refused.stderr
    assert "Traceback" not in refused.stderr
