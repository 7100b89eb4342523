"""Answers items and item requests with the database's GeoJSON text, untouched."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg
from flask import Response

from gridgeo.db.area import protected_relations, read_within
from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError
from gridgeo.provider.columns import has_row_versions, never_null
from gridgeo.provider.ids import well_formed
from gridgeo.provider.params import CollectionInfo, build_query, parse_output_crs
from gridgeo.provider.postgis import PostGISProvider, database_errors
from gridgeo.provider.query import FeatureQuery
from gridgeo.security.reads import log_personal_read, personal_ids_in_texts

GEOJSON = "application/geo+json"
PROVIDER = "gridgeo.provider.postgis.PostGISProvider"


def collection_info(config: dict[str, Any], collection_id: str) -> CollectionInfo | None:
    """The collection's description, or None when gridgeo's provider does not serve it."""
    resource = config["resources"].get(collection_id)
    if not resource or resource.get("type") != "collection":
        return None
    provider_def = next((p for p in resource.get("providers", [])
                         if p.get("type") == "feature" and p.get("name") == PROVIDER), None)
    if provider_def is None:
        return None
    limits = {**config["server"].get("limits", {}), **resource.get("limits", {})}
    info = PostGISProvider(provider_def).describe(collection_id, limits)
    extent = resource.get("extents", {}).get("spatial", {}).get("bbox")
    if extent and not isinstance(extent[0], list) and len(extent) == 4:
        info = dataclasses.replace(info, extent=[float(v) for v in extent])
    return info  # type: ignore[no-any-return]


def _href(base: str, args: Mapping[str, str], **changes: Any) -> str:
    params = {k: v for k, v in args.items() if k != "f"}
    params.update({k: v for k, v in changes.items() if v is not None})
    return f"{base}?{urlencode(params)}" if params else base


def _content_crs(args: Mapping[str, str]) -> str:
    return "<" + args.get("crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84") + ">"


def _items_links(base: str, args: Mapping[str, str], query: FeatureQuery, matched: int | None,
                 returned: int) -> list[dict[str, str]]:
    links = [
        {"rel": "self", "type": GEOJSON, "href": _href(base, args, f="json")},
        {"rel": "alternate", "type": "text/html", "href": _href(base, args, f="html")},
        {"rel": "collection", "type": "application/json", "href": base.rsplit("/", 1)[0]},
    ]
    # Only an exact count may end paging early; an estimate could stop a client short.
    more = query.offset + returned < matched if matched is not None else returned == query.limit
    if more:
        links.append({"rel": "next", "type": GEOJSON,
                      "href": _href(base, args, offset=query.offset + query.limit)})
    if query.offset > 0:
        links.append({"rel": "prev", "type": GEOJSON,
                      "href": _href(base, args, offset=max(0, query.offset - query.limit))})
    return links


# Below this many rows (by the planner's estimate) an exact count is cheap enough to make.
EXACT_BELOW = 20_000


def number_matched(conn: psycopg.Connection, query: FeatureQuery, mode: str,
                   exact_below: int = EXACT_BELOW) -> tuple[int | None, bool]:
    """numberMatched and whether it is exact. ``estimated`` counts exactly what the planner
    expects to be small, and gives its estimate otherwise (count(*) was most of a 65 ms
    page at a million rows)."""
    if mode == "off":
        return None, False
    if mode == "estimated":
        plan = conn.execute(*query.estimate(), prepare=query.prepare).fetchone()[0]  # type: ignore[index]
        rows = int(plan[0]["Plan"]["Plan Rows"])
        if rows >= exact_below:
            return rows, False
    return int(conn.execute(*query.count(), prepare=query.prepare).fetchone()[0]), True  # type: ignore[index]


def _holds(bbox: list[float], extent: list[float]) -> bool:
    return bbox[0] <= extent[0] and bbox[1] <= extent[1] and \
        bbox[2] >= extent[2] and bbox[3] >= extent[3]


def without_idle_bbox(conn: psycopg.Connection, query: FeatureQuery,
                      info: CollectionInfo) -> FeatureQuery:
    """The query without its bbox when no row lies outside it (QGIS asks for each layer's
    extent); only a bbox holding the collection's advertised extent is looked at."""
    if not (query.bbox and query.bbox_srid == 4490 and info.extent
            and _holds(query.bbox, info.extent)):
        return query
    # A collection's source serves its table's rows with their geometry (generalised at
    # most, never withheld as NULL: tests/test_extent_page.py), so a NOT NULL geometry
    # in the table is one in the source.
    may_be_null = not never_null(conn, info.table, info.geometry_column)
    if conn.execute(*query.outside_bbox(may_be_null), prepare=False).fetchone()[0]:  # type: ignore[index]
        return query
    return dataclasses.replace(query, bbox=None)


def read_page(conn: psycopg.Connection, query: FeatureQuery, info: CollectionInfo,
              hits_only: bool = False) -> tuple[FeatureQuery, int | None, bool, list[Any]]:
    """The query as run, its numberMatched (and whether that is exact) and its rows (each
    one feature's GeoJSON text)."""
    query = without_idle_bbox(conn, query, info)
    if query.bbox and info.table in protected_relations(conn):
        read_within(conn, *query.bbox_area())
    rows = [] if hits_only else conn.execute(*query.features(), prepare=query.prepare).fetchall()
    if 0 < len(rows) < query.limit or (not hits_only and not rows and query.offset == 0):
        # A page that is not full is the last one: it says how many match, no count needed.
        return query, (None if info.count == "off" else query.offset + len(rows)), \
            info.count != "off", rows
    matched, exact = number_matched(conn, query, info.count)
    return query, matched, exact, rows


def items_response(info: CollectionInfo, args: Mapping[str, str], base: str) -> Response:
    """GET /collections/{id}/items as GeoJSON."""
    query = build_query(args, info)
    with database_errors(), connection(read=True) as conn:
        query, matched, exact, rows = read_page(conn, query, info,
                                                args.get("resulttype") == "hits")
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if matched is not None:
        head["numberMatched"] = matched
    head |= {
        "numberReturned": len(rows),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": _items_links(base, args, query, matched if exact else None, len(rows)),
    }
    if info.personal and rows:
        log_personal_read(info.id, info.personal,
                          personal_ids_in_texts((r[0] for r in rows), info.personal), base)
    # Splice the database's feature texts into the document without parsing them.
    body = orjson.dumps(head)[:-1] + b',"features":[' + \
        ",".join(r[0] for r in rows).encode() + b"]}"
    response = Response(body, mimetype=GEOJSON)
    response.headers["Content-Crs"] = _content_crs(args)
    return response


def single_item_query(info: CollectionInfo, args: Mapping[str, str]) -> FeatureQuery:
    """The query for one item of the collection, its id compared in the id column's type."""
    return FeatureQuery(source=info.source, id_field=info.id_field,
                        geometry_column=info.geometry_column, columns=list(info.columns),
                        output=parse_output_crs(args, info.crs),
                        id_type=info.columns.get(info.id_field, "text"))


def read_item(conn: psycopg.Connection, info: CollectionInfo, item_id: str,
              args: Mapping[str, str]) -> tuple[str, str | None] | None:
    """The item's GeoJSON text and row version (None for a view, which has no row
    versions nor writes to guard), read by ONE statement: a second statement could see a
    write the first did not, pairing an old body with a new ETag. None when no item has
    that id for the caller (or the id cannot be one of the column's values)."""
    query = single_item_query(info, args)
    if not well_formed(item_id, query.id_type):
        return None
    versioned = info.table if has_row_versions(info.table) else None
    row = conn.execute(*query.single(item_id, versioned)).fetchone()
    if row is None:
        return None
    return row[0], (row[1] if versioned else None)


def _check_item_args(args: Mapping[str, str]) -> None:
    unknown = [k for k in args if k not in ("f", "crs", "lang")]
    if unknown:
        raise RequestError(f"unknown query parameter {', '.join(map(repr, unknown))} for a "
                           "single item; only crs and f apply.")


def plugin_item_links(conn: psycopg.Connection, info: CollectionInfo, item_id: str,
                      base: str) -> list[dict[str, Any]]:
    """Plugins' links of one item (attachments), read in the transaction that read it."""
    from gridgeo.plugins import get_plugin_manager

    server_url = base.split("/collections/", 1)[0]
    return [link for batch in get_plugin_manager().hook.gridgeo_item_links(
        conn=conn, collection_id=info.id, item_id=item_id, server_url=server_url)
        for link in batch]


def item_document(info: CollectionInfo, item_id: str, args: Mapping[str, str], base: str,
                  feature: str, version: str | None,
                  extra_links: list[dict[str, Any]] | None = None) -> Response:
    """One item's GeoJSON response; ``version`` (its row version) becomes the ETag."""
    links: list[dict[str, Any]] = [
             {"rel": "self", "type": GEOJSON, "href": _href(f"{base}/{item_id}", args)},
             {"rel": "alternate", "type": "text/html",
              "href": _href(f"{base}/{item_id}", args, f="html")},
             {"rel": "collection", "type": "application/json", "href": base.rsplit("/", 1)[0]},
             *(extra_links or [])]
    body = feature.encode()[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    response = Response(body, mimetype=GEOJSON)
    if version is not None:
        # The row version of the table behind the view: what If-Match is checked against.
        response.headers["ETag"] = f'"{version}"'
    response.headers["Content-Crs"] = _content_crs(args)
    return response


def item_response(info: CollectionInfo, item_id: str, args: Mapping[str, str],
                  base: str) -> Response:
    """GET /collections/{id}/items/{itemId} as GeoJSON."""
    _check_item_args(args)
    with database_errors(), connection(read=True) as conn:
        found = read_item(conn, info, item_id, args)
        extra = plugin_item_links(conn, info, item_id, base) if found else []
    if found is None:
        raise NotFound(f"No item with id {item_id} in collection {info.id}.")
    if info.personal:
        log_personal_read(info.id, info.personal, personal_ids_in_texts([found[0]], info.personal),
                          f"{base}/{item_id}")
    return item_document(info, item_id, args, base, *found, extra)


def written_item_response(conn: psycopg.Connection, info: CollectionInfo, item_id: str,
                          tag: str, base: str) -> Response:
    """The answer to a write, read inside the write's transaction: the body and ETag of
    the version just written, whatever commits after it. A caller may write a row its
    read scope no longer shows (row-level security); then the answer is the ETag alone."""
    found = read_item(conn, info, item_id, {})
    if found is None:
        response = Response(status=200)
        response.headers["ETag"] = tag
        return response
    return item_document(info, item_id, {}, base, *found,
                         plugin_item_links(conn, info, item_id, base))
