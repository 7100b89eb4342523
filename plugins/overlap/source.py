"""Reads the selected grids and police grids from PostGIS, in the metric CRS."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from gridgeo.geometry.layer import Layer, read_layer
from gridgeo.process_errors import InputError

from .inputs import GridSelection

MAX_GRIDS = 200_000
MAX_POLICE_GRIDS = 50_000
GRID_COLUMNS = ("name", "level")
POLICE_COLUMNS = ("name", "station_name", "officer_names", "officer_phones")


def grid_filter(selection: GridSelection) -> tuple[sql.Composable, dict[str, Any]]:
    """The WHERE clause on ``gridgeo.grids g`` for a selection, with its parameters."""
    if selection.codes:
        return sql.SQL("g.code = ANY(%(codes)s)"), {"codes": list(selection.codes)}
    parts: list[sql.Composable] = [sql.SQL("g.level = %(level)s")]
    params: dict[str, Any] = {"level": selection.level}
    if selection.kind != "all":
        parts.append(sql.SQL("g.kind = %(kind)s"))
        params["kind"] = selection.kind
    if selection.bbox:
        parts.append(sql.SQL("ST_Intersects(g.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s,"
                             " %(y1)s, 4490))"))
        params.update(zip(("x0", "y0", "x1", "y1"), selection.bbox, strict=True))
    return sql.SQL(" AND ").join(parts), params


def read_grids(conn: psycopg.Connection, selection: GridSelection, srid: int) -> Layer:
    """The selected grids, ordered by code; a 400-style InputError when none or too many."""
    where, params = grid_filter(selection)
    query = sql.SQL(
        "SELECT g.code, ST_AsBinary(ST_Transform(g.geom, %(srid)s)), g.name, g.level"
        " FROM gridgeo.grids g WHERE {} ORDER BY g.code LIMIT %(cap)s").format(where)
    layer = read_layer(conn, query, {**params, "srid": srid, "cap": MAX_GRIDS + 1}, srid,
                       GRID_COLUMNS)
    if selection.codes:
        missing(selection.codes, layer, "grid")
    if len(layer) == 0:
        raise InputError(f"no grids match {selection.describe()}; check the level, kind "
                         "and bbox")
    if len(layer) > MAX_GRIDS:
        raise InputError(f"{selection.describe()} are more than {MAX_GRIDS} grids; "
                         "narrow the selection with bbox or grid_codes")
    return layer


def read_police_grids(conn: psycopg.Connection, selection: GridSelection,
                      codes: tuple[str, ...], srid: int) -> Layer:
    """Police grids (all, or the given codes) that reach the selected grids' extent."""
    where, params = grid_filter(selection)
    wanted = sql.SQL("p.code = ANY(%(police_codes)s)") if codes else sql.SQL("true")
    query = sql.SQL(
        "SELECT p.code, ST_AsBinary(ST_Transform(p.geom, %(srid)s)), p.name, p.station_name,"
        " p.officer_names, p.officer_phones FROM gridgeo.police_grids_view p"
        " WHERE {} AND p.geom && (SELECT ST_SetSRID(ST_Extent(g.geom)::geometry, 4490)"
        " FROM gridgeo.grids g WHERE {}) ORDER BY p.code LIMIT %(cap)s").format(wanted, where)
    layer = read_layer(conn, query, {**params, "police_codes": list(codes), "srid": srid,
                                     "cap": MAX_POLICE_GRIDS + 1}, srid, POLICE_COLUMNS)
    if codes:
        unknown = police_codes_unknown(conn, codes)
        if unknown:
            raise InputError(f"unknown police grid codes: {shorten(unknown)}")
    if len(layer) > MAX_POLICE_GRIDS:
        raise InputError(f"more than {MAX_POLICE_GRIDS} police grids reach the selection; "
                         "narrow it with bbox or police_codes")
    return layer


def missing(wanted: tuple[str, ...], layer: Layer, what: str) -> None:
    found = set(layer.codes.tolist())
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InputError(f"unknown {what} codes: {shorten(unknown)}")


def police_codes_unknown(conn: psycopg.Connection, codes: tuple[str, ...]) -> list[str]:
    rows = conn.execute("SELECT c FROM unnest(%s::text[]) c WHERE NOT EXISTS"
                        " (SELECT 1 FROM gridgeo.police_grids p WHERE p.code = c)",
                        (list(codes),)).fetchall()
    return [r[0] for r in rows]


def shorten(codes: list[str], shown: int = 5) -> str:
    more = f" and {len(codes) - shown} more" if len(codes) > shown else ""
    return ", ".join(codes[:shown]) + more

