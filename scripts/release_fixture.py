"""Make the upgrade fixture of a release: its schema and a few coherent rows per table.

    git archive <release commit> | tar -x -C /tmp/release
    python scripts/release_fixture.py /tmp/release tests/fixtures/release-0.1.0.sql

The release's own code (from the extracted tree) migrates a scratch database on the
private cluster and loads its demo town; then every table keeps a few rows plus every row
those rows reference (followed through the foreign keys until nothing is missing), and
``pg_dump --schema=gridgeo`` writes the file. tests/test_upgrade.py migrates a database
made from it with the current code. Needs the private cluster (`gridgeo db start`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

KEEP_ROWS = 4
# Configuration, not casework: kept whole (a migration history with gaps is no release).
WHOLE_TABLES = ("gridgeo.schema_migrations", "gridgeo.deployment", "gridgeo.incident_colours",
                "gridgeo.incident_transitions", "gridgeo.incident_categories",
                "gridgeo.incident_case_counters", "gridgeo.scan_radii")
# The demo queues no process jobs; a release's database has some.
SAMPLE_JOBS = """
INSERT INTO gridgeo.jobs (job_id, process_id, status, message, progress, inputs, queued,
                          identity, started, finished, mimetype, result)
VALUES ('5b0c1f3e-0000-4000-8000-000000000001', 'grid-topology', 'successful',
        'Job complete', 100, '{"level": "unit"}', true, '{"subject": "staff-7"}',
        now() - interval '1 hour', now() - interval '59 minutes', 'application/json',
        convert_to('{"type": "FeatureCollection", "features": []}', 'UTF8')),
       ('5b0c1f3e-0000-4000-8000-000000000002', 'incident-report', 'accepted',
        'Job queued for a worker', 0, '{"week": "2026-W49"}', true, '{}', NULL, NULL, NULL,
        NULL)"""


def run_release(tree: Path, url: str, *args: str) -> None:
    """``gridgeo <args>`` of the release in ``tree`` (its plugins/ as gridgeo_plugins)."""
    links = Path(tempfile.mkdtemp(prefix="gridgeo-release-"))
    (links / "gridgeo_plugins").symlink_to(tree / "plugins")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDGEO_", "PYGEOAPI_"))}
    env.update(PYTHONPATH=f"{tree}:{links}", GRIDGEO_DATABASE_URL=url,
               GRIDGEO_DEM_PATH=str(links / "dem.tif"), GRIDGEO_HOME=str(links / "home"))
    subprocess.run([sys.executable, "-m", "gridgeo.cli", *args], env=env, check=True,
                   cwd=links)


def foreign_keys(conn: psycopg.Connection) -> list[tuple[str, list[str], str, list[str]]]:
    """(child table, its columns, parent table, the parent's columns) within gridgeo."""
    rows = conn.execute("""
        SELECT c.conrelid::regclass::text, array_agg(ca.attname ORDER BY k.n),
               c.confrelid::regclass::text, array_agg(pa.attname ORDER BY k.n)
          FROM pg_constraint c
          CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(ck, pk, n)
          JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.ck
          JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk
         WHERE c.contype = 'f' AND c.connamespace = 'gridgeo'::regnamespace
         GROUP BY c.oid, c.conrelid, c.confrelid""").fetchall()
    return [(r[0], list(r[1]), r[2], list(r[3])) for r in rows]


def thin(conn: psycopg.Connection) -> None:
    """Keep KEEP_ROWS rows of each table and every row they reference."""
    tables = [r[0] for r in conn.execute(
        "SELECT 'gridgeo.' || quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname = 'gridgeo' ORDER BY 1")]
    conn.execute("CREATE TEMP TABLE keep (tbl text, row_id tid)")
    for table in tables:
        limit = None if table in WHOLE_TABLES else KEEP_ROWS
        conn.execute(sql.SQL("INSERT INTO keep SELECT %s, ctid FROM {} LIMIT %s").format(
            sql.SQL(table)), (table, limit))
    keys = foreign_keys(conn)
    while True:
        added = 0
        for child, ccols, parent, pcols in keys:
            match = sql.SQL(" AND ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c))
                for p, c in zip(pcols, ccols, strict=True))
            added += conn.execute(sql.SQL(
                "INSERT INTO keep SELECT DISTINCT %s, p.ctid FROM {} p JOIN {} c ON {}"
                " WHERE c.ctid IN (SELECT row_id FROM keep WHERE tbl = %s)"
                " AND p.ctid NOT IN (SELECT row_id FROM keep WHERE tbl = %s)").format(
                sql.SQL(parent), sql.SQL(child), match), (parent, child, parent)).rowcount
        if not added:
            break
    # Triggers (append-only audit, no deleting incidents) guard the app, not this copy.
    conn.execute("SET session_replication_role = replica")
    for table in tables:
        conn.execute(sql.SQL("DELETE FROM {} WHERE ctid NOT IN (SELECT row_id FROM keep"
                             " WHERE tbl = %s)").format(sql.SQL(table)), (table,))


def main(tree: Path, out: Path) -> None:
    from gridgeo.db.scratch import create_database, drop_database
    from gridgeo.settings import get_settings

    settings = get_settings()
    name = "gridgeo_release_fixture"
    url = create_database(settings, name, migrate=False)
    try:
        run_release(tree, url, "db", "migrate")
        run_release(tree, url, "demo")
        from gridgeo.db.cluster import admin_url

        with psycopg.connect(admin_url(settings, name)) as conn:
            conn.execute(SAMPLE_JOBS)
            thin(conn)
            conn.commit()
        subprocess.run(["pg_dump", "--schema=gridgeo", "--no-owner", "--no-privileges",
                        "--enable-row-security", f"--file={out}", f"--dbname={url}"], check=True,
                       env={**os.environ, "PGOPTIONS": "-c gridgeo.maintenance=on"})
    finally:
        drop_database(settings, name)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
