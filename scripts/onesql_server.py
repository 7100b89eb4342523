"""The floor for scripts/bench_features.py: an HTTP server that answers each request
with one SQL statement whose result is the whole response body.

Run by gunicorn like gridgeo (same worker count), one connection per worker, so the
comparison is HTTP to HTTP: what gridgeo adds over "one query, bytes out" is what the
benchmark shows. The floor is the bare query: its connections are maintenance ones,
which row-level security lets through without evaluating a policy.

Routes: /items?limit&offset, /bbox?x0&y0&x1&y1&limit, /item/<id>,
/incidents?x0&y0&x1&y1&limit, /tiles/<collection>/<z>/<x>/<y>.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import psycopg

# Each feature's JSON built as gridgeo builds it (json_build_object over the columns),
# joined into the body by the database.
FEATURES = """
SELECT '{{"type":"FeatureCollection","numberMatched":'
       || (SELECT count(*) FROM gridgeo.{view} t WHERE {where})
       || ',"features":[' || coalesce(string_agg(f, ',' ORDER BY rn), '') || ']}}'
  FROM (SELECT row_number() OVER (ORDER BY {order}, t.id) AS rn, {feature} AS f
          FROM gridgeo.{view} t WHERE {where}
         ORDER BY {order}, t.id LIMIT %(limit)s OFFSET %(offset)s) s
"""
FEATURE = """json_build_object('type', 'Feature', 'id', t.id,
    'geometry', ST_AsGeoJSON(t.geom, 7)::json,
    'properties', (SELECT to_json(p) FROM (SELECT {columns}) p))::text"""
BOX = "ST_Intersects(t.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4490))"
ITEM = "SELECT {feature} FROM gridgeo.addresses_view t WHERE t.id = %(id)s"
GEOJSON = "application/geo+json"
_conn: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["ONESQL_URL"], autocommit=True)
        _conn.execute("SET search_path = gridgeo, public")
        _conn.execute("SET gridgeo.maintenance = 'on'")
    return _conn


_features: dict[str, str] = {}


def feature(view: str) -> str:
    """One feature's JSON text from view ``view``: every column but the geometry."""
    if view not in _features:
        names = [r[0] for r in connection().execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'gridgeo'"
            " AND table_name = %s AND column_name <> 'geom' ORDER BY ordinal_position",
            (view,))]
        _features[view] = FEATURE.format(columns=", ".join(f't."{n}"' for n in names))
    return _features[view]


def one_value(statement: Any, params: dict[str, Any]) -> Any:
    row = connection().execute(statement, params).fetchone()
    return row[0] if row else None


def _numbers(query: dict[str, list[str]], *names: str) -> dict[str, float]:
    return {n: float(query[n][0]) for n in names}


def _page(query: dict[str, list[str]]) -> dict[str, int]:
    return {"limit": int(query.get("limit", ["10"])[0]),
            "offset": int(query.get("offset", ["0"])[0])}


def answer(path: str, query: dict[str, list[str]]) -> tuple[str, bytes | None]:
    """Media type and body of one request; None for no such thing."""
    if path == "/items":
        stmt = FEATURES.format(view="addresses_view", where="true", order="t.address_code",
                               feature=feature("addresses_view"))
        return GEOJSON, one_value(stmt, _page(query)).encode()
    if path in ("/bbox", "/incidents"):
        view, order = (("addresses_view", "t.address_code") if path == "/bbox"
                       else ("incidents_view", "t.id"))
        stmt = FEATURES.format(view=view, where=BOX, order=order, feature=feature(view))
        params = {**_page(query), **_numbers(query, "x0", "y0", "x1", "y1")}
        return GEOJSON, one_value(stmt, params).encode()
    if match := re.fullmatch(r"/item/(\d+)", path):
        text = one_value(ITEM.format(feature=feature("addresses_view")), {"id": int(match[1])})
        return GEOJSON, text.encode() if text else None
    if match := re.fullmatch(r"/tiles/(\w+)/(\d+)/(\d+)/(\d+)", path):
        from gridgeo_plugins.maps.tiles import tile_layers, tile_params, tile_query

        z, x, y = int(match[2]), int(match[3]), int(match[4])
        body = one_value(tile_query(tile_layers()[match[1]], z), tile_params(z, x, y))
        return "application/vnd.mapbox-vector-tile", bytes(body or b"")
    return "text/plain", None


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    media, body = answer(environ["PATH_INFO"], parse_qs(environ.get("QUERY_STRING", "")))
    if body is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", media), ("Content-Length", str(len(body)))])
    return [body]
