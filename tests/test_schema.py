"""Rules the database itself enforces, whatever client writes."""

from __future__ import annotations

import psycopg
import pytest


def test_grid_code_is_assigned_by_the_database(conn: psycopg.Connection) -> None:
    code, x, y = conn.execute(  # a point well inside a unit grid
        "SELECT code, ST_X(p), ST_Y(p) FROM (SELECT code, ST_PointOnSurface(geom) p"
        " FROM gridgeo.grids WHERE level = 'unit' AND kind = 'basic' ORDER BY code"
        " OFFSET 10 LIMIT 1) s").fetchone()  # type: ignore[misc]
    row = conn.execute(
        "INSERT INTO gridgeo.greenhouses (gh_no, use, status, grid_code, geom) VALUES"
        " ('410399101200DP9990', 'fruit', 'in_use', 'caller-says-this',"
        " ST_Buffer(ST_SetSRID(ST_MakePoint(%s, %s), 4490), 0.00005, 2)) RETURNING grid_code",
        (x, y)).fetchone()
    assert row == (code,)


def test_a_boundary_change_closes_the_old_version(conn: psycopg.Connection) -> None:
    code, old_area = conn.execute(
        "SELECT code, area_m2 FROM gridgeo.grids WHERE level = 'micro' ORDER BY code LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    conn.execute("UPDATE gridgeo.grids SET geom = ST_Multi(ST_Buffer(geom, -0.0001))"
                 " WHERE code = %s", (code,))
    versions = conn.execute("SELECT area_m2, valid_to IS NOT NULL FROM gridgeo.grid_versions"
                            " WHERE code = %s", (code,)).fetchall()
    assert versions == [(pytest.approx(old_area), True)]
    new_area = conn.execute("SELECT area_m2 FROM gridgeo.grids WHERE code = %s",
                            (code,)).fetchone()[0]  # type: ignore[index]
    assert new_area < old_area
    # A name change is not a boundary change: no new version.
    conn.execute("UPDATE gridgeo.grids SET name = name || '改' WHERE code = %s", (code,))
    assert conn.execute("SELECT count(*) FROM gridgeo.grid_versions WHERE code = %s",
                        (code,)).fetchone() == (1,)


@pytest.mark.parametrize("code,parent", [
    ("41039910120000199", "410399101200002"),   # micro grid whose parent is not its prefix
    ("4103991012000A1", "410399101200"),        # letters in a unit grid code
])
def test_codes_must_match_the_national_layout(conn: psycopg.Connection, code: str,
                                              parent: str) -> None:
    level = "micro" if len(code) == 17 else "unit"
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO gridgeo.grids (code, name, level, parent_code, village_code, geom)"
            " VALUES (%s, 'x', %s, %s, left(%s, 12), ST_Multi(ST_Buffer(ST_SetSRID("
            "ST_MakePoint(112.3, 34.1), 4490), 0.001)))", (code, level, parent, code))


def test_self_intersecting_polygon_is_refused(conn: psycopg.Connection) -> None:
    bowtie = "SRID=4490;POLYGON((112.3 34.1,112.31 34.11,112.31 34.1,112.3 34.11,112.3 34.1))"
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO gridgeo.greenhouses (gh_no, use, status, geom)"
                     " VALUES ('410399101200DP9999', 'fruit', 'in_use', %s)", (bowtie,))
