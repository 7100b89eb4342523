"""Spatial and temporal extents of each collection, read from the data."""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg import sql

from gridgeo.contributions import CollectionContribution
from gridgeo.provider.columns import columns_of, stores_rows

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


def collection_extents(conn: psycopg.Connection,
                       collections: list[CollectionContribution]) -> dict[str, dict[str, Any]]:
    """Extents per collection id; an empty collection gets the extent of all data."""
    found: dict[str, dict[str, Any]] = {}
    for collection in collections:
        provider = collection.resource["providers"][0]
        data = provider["data"]
        extent: dict[str, Any] = {}
        found[collection.id] = extent
        # A collection derived in a view (figures, due lists, events, photos) gets the
        # extent of all data: its own would compute the whole view at every server start,
        # minutes at 10 million incidents (grid_figures, incident_events_view).
        if not stores_rows(conn, data["table"]):
            continue
        bbox = _bbox(conn, data["table"], data.get("geometry_column", "geom"))
        if bbox:
            extent["spatial"] = {"bbox": bbox, "crs": CRS84}
        if provider.get("time_field"):
            interval = _interval(conn, data["table"], data["source"], provider["time_field"])
            if interval:
                extent["temporal"] = {"begin": interval[0], "end": interval[1], "trs": GREGORIAN}
    union = _union_bbox([e["spatial"]["bbox"] for e in found.values() if "spatial" in e])
    for extent in found.values():
        if "spatial" not in extent and union:
            extent["spatial"] = {"bbox": union, "crs": CRS84}
    return found


def _bbox(conn: psycopg.Connection, table: str, column: str) -> list[float] | None:
    # CGCS2000 and WGS84 agree to well under a metre here, so 4490's x/y is CRS84's.
    row = conn.execute(sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent({}) AS e FROM gridgeo.{}) s").format(
            sql.Identifier(column), sql.Identifier(table))).fetchone()
    if row is None or row[0] is None:
        return None
    # Rounded outwards: QGIS pages a layer with its extent as bbox, and an extent rounded
    # to the nearest would leave out the features on its edges.
    return [math.floor(row[0] * 1e6) / 1e6, math.floor(row[1] * 1e6) / 1e6,
            math.ceil(row[2] * 1e6) / 1e6, math.ceil(row[3] * 1e6) / 1e6]


def _interval(conn: psycopg.Connection, table: str, source: str,
              column: str) -> tuple[str, str] | None:
    # From the table when it has the column: min and max then read its index's two ends,
    # where through a view they computed every row (the incidents view's deadlines: at 10
    # million incidents the server's start waited minutes for this, scripts/bench_scale.py).
    relation = table if column in columns_of(conn, table) else source
    row = conn.execute(sql.SQL("SELECT min({0}), max({0}) FROM gridgeo.{1}").format(
        sql.Identifier(column), sql.Identifier(relation))).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0].isoformat(), row[1].isoformat()


def _union_bbox(boxes: list[list[float]]) -> list[float] | None:
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]
