"""Upgrading from release 0.1.0: a database made from that release's schema and sample rows
(tests/fixtures/release-0.1.0.sql, made by scripts/release_fixture.py) is migrated by the
current `gridgeo db migrate`, and every row it had is still there, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gridgeo.db.migrate import collect_migrations, pending_migrations
from gridgeo.db.pool import connect
from gridgeo.db.scratch import create_database, drop_database
from gridgeo.plugins import get_plugin_manager
from tests.conftest import _admin_settings

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1.0.sql"


def table_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE"
            " table_schema = 'gridgeo' AND table_name IN (SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'gridgeo') ORDER BY table_name, ordinal_position"):
        columns.setdefault(table, []).append(column)
    return columns


def rows_by_table(conn: psycopg.Connection, columns: dict[str, list[str]]
                  ) -> dict[str, set[str]]:
    """Each table's rows as text, over the given columns (the fixture is small)."""
    rows = {}
    for table, names in columns.items():
        row_text = sql.SQL("ROW({})::text").format(
            sql.SQL(", ").join(sql.Identifier("t", n) for n in names))
        rows[table] = {r[0] for r in conn.execute(sql.SQL("SELECT {} FROM {} t").format(
            row_text, sql.Identifier("gridgeo", table)))}
    return rows


def readiness(env: dict[str, str]) -> dict[str, Any]:
    """The checks behind /readyz, run by a gridgeo process on ``env``'s database."""
    done = subprocess.run([sys.executable, "-c", "import json; from gridgeo.ops.health import "
                           "readiness; print(json.dumps(readiness()))"], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_release_0_1_0_migrates_with_its_data_intact() -> None:
    name = f"gridgeo_upgrade_{os.getpid()}"
    url = create_database(_admin_settings(), name, migrate=False)
    try:
        loaded = subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FIXTURE),
                                 url], capture_output=True, text=True, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        with connect(url) as conn:
            release_columns = table_columns(conn)
            before = rows_by_table(conn, release_columns)
            assert pending_migrations(conn, collect_migrations(get_plugin_manager()))
        assert before["incidents"] and len(before["jobs"]) == 2
        assert len(before["schema_migrations"]) == 26  # every migration of release 0.1.0

        env = {k: v for k, v in os.environ.items() if not k.startswith("PYGEOAPI_")}
        env["GRIDGEO_DATABASE_URL"] = url
        not_ready = readiness(env)  # what /readyz answers before the upgrade
        assert not_ready["database"] and not not_ready["migrations"]
        assert "jobs/003" in not_ready["pending_migrations"]
        migrated = subprocess.run([sys.executable, "-m", "gridgeo.cli", "db", "migrate"],
                                  env=env, capture_output=True, text=True, timeout=300)
        assert migrated.returncode == 0, migrated.stderr

        with connect(url) as conn:
            assert not pending_migrations(conn, collect_migrations(get_plugin_manager()))
            # Columns added since 0.1.0 are left out: the release's own hold the same rows.
            after = rows_by_table(conn, release_columns)
            request_ids = conn.execute("SELECT count(*) FROM gridgeo.jobs"
                                       " WHERE request_id IS NULL").fetchone()
        after_upgrade = readiness(env)
        assert after_upgrade["database"] and after_upgrade["migrations"]
        assert not after_upgrade["job_workers"]  # none runs against this database
        # Every row of the release is there unchanged; migrations may add rows (newer
        # migration records, new deployment settings), never change or drop one.
        changed = {t: sorted(before[t] - after[t])[:3] for t in before if before[t] - after[t]}
        assert not changed
        assert len(after["schema_migrations"]) > len(before["schema_migrations"])
        assert request_ids == (2,)  # jobs of 0.1.0 have no request id: none was recorded
    finally:
        drop_database(_admin_settings(), name)
