"""The county an import is checked against: the town grids, imported and stored."""

from __future__ import annotations

import psycopg
import shapely

from .prepare import PreparedLayer


def county_area(conn: psycopg.Connection, layers: list[PreparedLayer]) -> shapely.Geometry | None:
    """The county as its town grids cover it: imported ones and those already in gridgeo."""
    towns = [g for layer in layers if layer.target.name == "grids"
             for row, g in zip(layer.rows, layer.geoms, strict=True) if row.get("level") == "town"]
    imported = {row["code"] for layer in layers if layer.target.name == "grids"
                for row in layer.rows if row.get("level") == "town"}
    rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM gridgeo.grids WHERE level = 'town'"
                        ).fetchall()
    towns += [shapely.from_wkb(bytes(r[1])) for r in rows if r[0] not in imported]
    return shapely.union_all(towns) if towns else None
