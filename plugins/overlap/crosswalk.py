"""Writes the grid ↔ police grid crosswalk: the rows of the computed grids, replaced at once.

The pieces go into a temporary table with binary COPY; one transaction then deletes
the computed grids' old rows (and rows of grids that no longer exist) and inserts the
new ones, so readers see either the old crosswalk or the new one, never a mix.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely

from .compute import OverlapResult

_LOAD_TABLE = """
CREATE TEMP TABLE crosswalk_load (
    grid_code text, grid_level text, police_grid_code text, area_m2 float8,
    grid_share float8, police_grid_share float8, dominant boolean, sliver boolean, wkb bytea
) ON COMMIT DROP"""
_LOAD_TYPES = ["text", "text", "text", "float8", "float8", "float8", "bool", "bool", "bytea"]

_REPLACE = """
DELETE FROM gridgeo.grid_police_crosswalk c
 WHERE c.grid_code = ANY(%(codes)s)
    OR NOT EXISTS (SELECT 1 FROM gridgeo.grids g WHERE g.code = c.grid_code);
INSERT INTO gridgeo.grid_police_crosswalk
       (id, grid_code, grid_level, police_grid_code, area_m2, grid_share, police_grid_share,
        dominant, sliver, computed_at, geom)
SELECT grid_code || '~' || police_grid_code, grid_code, grid_level, police_grid_code, area_m2,
       grid_share, police_grid_share, dominant, sliver, now(),
       ST_Multi(ST_Transform(ST_GeomFromWKB(wkb, %(srid)s), 4490))
  FROM crosswalk_load"""


def write_crosswalk(conn: psycopg.Connection, result: OverlapResult) -> int:
    """Replace the crosswalk rows of every grid in ``result``; returns the rows written.

    One transaction (a savepoint inside the caller's): on any error nothing changes.
    """
    grids, police, pieces = result.grids, result.police, result.pieces
    wkb = shapely.to_wkb(pieces.geoms)  # polygons or multipolygons; ST_Multi unifies them
    levels = grids.attributes.get("level", np.full(len(grids), "unit", dtype=object))
    rows = zip(grids.codes[pieces.grid].tolist(), levels[pieces.grid].tolist(),
               police.codes[pieces.police].tolist(), pieces.area_m2.tolist(),
               pieces.grid_share.tolist(), pieces.police_share.tolist(),
               pieces.dominant.tolist(), pieces.sliver.tolist(), wkb.tolist(), strict=True)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(_LOAD_TABLE)
        with cur.copy("COPY crosswalk_load FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_LOAD_TYPES)
            for row in rows:
                copy.write_row(row)
        for statement in _REPLACE.split(";"):
            cur.execute(statement, {"codes": grids.codes.tolist(), "srid": grids.srid})
    return len(pieces)
