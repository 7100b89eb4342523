"""Mapbox vector tiles (OGC API - Tiles, WebMercatorQuad) built in PostGIS.

pygeoapi's MVT-postgresql provider transforms with a text CRS, which made one z12 tile
take 15-20 s; here every transform uses integer SRIDs: the tile envelope is built in
3857 and transformed to 4490 once, so the GiST index on ``geom`` filters, and only
the matching rows are simplified (tolerance: one tile pixel,
below what ST_AsMVTGeom's snapping keeps anyway) and
transformed to 3857 for ``ST_AsMVTGeom``. A collection is tiled when its collection.yml
declares ``tiles``; only the non-personal columns listed there are ever selected, whatever
the caller may see elsewhere.

A layer may also declare ``where``, a condition on its rows: the incidents map is the
working set (open cases and those closed in the last ``GRIDGEO_MAP_CLOSED_DAYS``, bound as
``%(since)s``), so a tile holds as many features after ten years of history as after one.

The tile's area is also named for row-level security (gridgeo.db.area), whose policies
would otherwise keep the index out of reach; and features go into the tile in id
order, so a tile's bytes and ETag do not change with the plan PostgreSQL picks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import psycopg
from psycopg import sql

from gridgeo.catalog import CatalogError
from gridgeo.contributions import CollectionContribution
from gridgeo.db.area import protected_relations, read_within
from gridgeo.settings import get_settings

WEB_MERCATOR_HALF = 20037508.342789244
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 18
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"


@dataclass(frozen=True)
class TileLayer:
    """One collection served as a tile layer: which rows at which zoom, which columns."""

    collection: str
    view: str
    columns: tuple[str, ...]  # non-personal columns of the view, put in each feature
    polygonal: bool = False  # simplify lines and polygons; points are left alone
    min_zoom: int = 0
    # (minimum zoom, SQL condition) in ascending zoom: rows shown from that zoom on.
    zoom_filters: tuple[tuple[int, str], ...] = ()
    where: str | None = None  # rows shown at every zoom; may use %(since)s
    max_age: int = 300  # Cache-Control max-age in seconds


def tile_layer(collection: CollectionContribution) -> TileLayer:
    """The tile layer a collection declares in its collection.yml ``tiles`` section."""
    declared = dict(collection.declarations["tiles"])
    filters = tuple((int(zoom), str(condition))
                    for zoom, condition in declared.pop("zoom_filters", ()))
    try:
        return TileLayer(collection.id, collection.resource["providers"][0]["data"]["source"],
                         tuple(declared.pop("columns")), zoom_filters=filters, **declared)
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"collection {collection.id}: its tiles section takes columns, "
                           "polygonal, min_zoom, zoom_filters, where and max_age") from exc


@lru_cache(maxsize=1)
def tile_layers() -> dict[str, TileLayer]:
    """Every collection that declares tiles, by id (built once per process)."""
    from gridgeo.plugins import get_plugin_manager

    return {c.id: tile_layer(c) for batch in get_plugin_manager().hook.gridgeo_collections()
            for c in batch if "tiles" in c.declarations}


def tile_in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def pixel_size_degrees(z: int) -> float:
    """One tile pixel at zoom z in degrees of latitude (a little more in longitude)."""
    return (2 * WEB_MERCATOR_HALF / 2**z / EXTENT) / 111_320


def zoom_condition(layer: TileLayer, z: int) -> sql.Composable:
    shown = [cond for zoom, cond in layer.zoom_filters if zoom <= z]
    condition: sql.Composable = sql.SQL("true")
    if shown:
        condition = sql.SQL("(") + sql.SQL(" OR ").join(sql.SQL(c) for c in shown) + sql.SQL(")")
    if layer.where:
        condition = sql.SQL("({}) AND {}").format(sql.SQL(layer.where), condition)
    return condition


# The tile with its margin in storage coordinates: what the tile query's rows lie in.
AREA = sql.SQL("ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4490)")


def tile_query(layer: TileLayer, z: int) -> sql.Composed:
    """The statement for one tile; parameters: z, x, y, margin, tolerance."""
    geom = sql.SQL("t.geom")
    if layer.polygonal:
        geom = sql.SQL("ST_Simplify(t.geom, %(tolerance)s, true)")
    columns = sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c) for c in layer.columns)
    return sql.SQL("""
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
           {area} AS filter
), rows AS (
    SELECT {columns},
           ST_AsMVTGeom(ST_Transform({geom}, 3857), b.tile, {extent}, {buffer}, true) AS mvt_geom
      FROM gridgeo.{view} t, bounds b
     WHERE t.geom && b.filter AND {zoom}
)
SELECT ST_AsMVT(rows.*, {name}, {extent}, 'mvt_geom', 'id' ORDER BY rows.id) FROM rows
 WHERE mvt_geom IS NOT NULL""").format(
        area=AREA, columns=columns, geom=geom, extent=sql.Literal(EXTENT),
        buffer=sql.Literal(BUFFER), view=sql.Identifier(layer.view), zoom=zoom_condition(layer, z),
        name=sql.Literal(layer.collection))


def working_set_since() -> datetime:
    """Cases closed before this are off the map (``GRIDGEO_MAP_CLOSED_DAYS``)."""
    return datetime.now(UTC) - timedelta(days=get_settings().map_closed_days)


def tile_params(z: int, x: int, y: int,
                since: datetime | None = None) -> dict[str, float | int | datetime]:
    return {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT,
            "tolerance": pixel_size_degrees(z), "since": since or working_set_since()}


def render_tile(conn: psycopg.Connection, layer: TileLayer, z: int, x: int, y: int,
                since: datetime | None = None) -> bytes:
    """The MVT bytes of one tile (empty for a tile with no features or below min_zoom)."""
    if z < layer.min_zoom:
        return b""
    params = tile_params(z, x, y, since)
    if layer.view in protected_relations(conn):
        read_within(conn, AREA, params)
    row = conn.execute(tile_query(layer, z), params).fetchone()
    return bytes(row[0]) if row and row[0] else b""


def etag(body: bytes) -> str:
    """A strong validator of the tile's bytes (unquoted)."""
    return hashlib.blake2b(body, digest_size=12).hexdigest()


def tile_bounds_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of a WebMercatorQuad tile in degrees."""
    def lon(i: int) -> float:
        return i / 2**z * 360.0 - 180.0

    def lat(j: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * j / 2**z))))

    return lon(x), lat(y + 1), lon(x + 1), lat(y)
