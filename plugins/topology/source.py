"""Reads the grids a topology check needs from PostGIS, in the metric CRS."""

from __future__ import annotations

import psycopg
from psycopg import sql

from gridgeo.geometry.layer import Layer, read_layer
from gridgeo.process_errors import InputError

from .inputs import TopologyRequest

MAX_GRIDS = 300_000
COLUMNS = ("level", "kind", "parent_code", "village_code")


def read_grids(conn: psycopg.Connection, request: TopologyRequest, srid: int) -> Layer:
    """The checked levels and their parents (within a code, when given), ordered by code."""
    where = [sql.SQL("g.level = ANY(%(levels)s)")]
    params: dict[str, object] = {"levels": list(request.levels_to_read()), "srid": srid,
                                 "cap": MAX_GRIDS + 1}
    if request.within:
        where.append(sql.SQL("g.code LIKE %(prefix)s"))  # the code itself and its descendants
        params["prefix"] = request.within + "%"
    query = sql.SQL(
        "SELECT g.code, ST_AsBinary(ST_Transform(g.geom, %(srid)s)), g.level, g.kind,"
        " g.parent_code, g.village_code FROM gridgeo.grids g WHERE {} ORDER BY g.code"
        " LIMIT %(cap)s").format(sql.SQL(" AND ").join(where))
    layer = read_layer(conn, query, params, srid, COLUMNS)
    if request.within and request.within not in set(layer.codes.tolist()):
        raise InputError(f"no grid has the code {request.within}")
    if len(layer) == 0:
        raise InputError("there are no grids to check at "
                         f"{' and '.join(request.levels)} level")
    if len(layer) > MAX_GRIDS:
        raise InputError(f"more than {MAX_GRIDS} grids to check; check one level at a time "
                         "or give within")
    return layer
