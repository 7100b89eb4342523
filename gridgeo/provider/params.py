"""The items request model: an items request's query parameters read into a FeatureQuery,
bad ones refused with a sentence that says what to fix.

Every format answers through it: the JSON route (``gridgeo.items``) builds its query
here, the same parameters are checked here before pygeoapi renders HTML or CSV, and the
provider compiles the filter pygeoapi hands it here. It lives beside the provider so the
dependency runs one way: items -> provider.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from pygeoapi.api import evaluate_limit

from gridgeo.errors import RequestError
from gridgeo.provider.cql import CqlError, compile_filter
from gridgeo.provider.crs import CRS84, OutputCrs, output_crs
from gridgeo.provider.query import FeatureQuery
from gridgeo.settings import get_settings

# Parameters of OGC API Features parts 1-3 that are not property filters.
RESERVED = frozenset({"f", "lang", "limit", "offset", "bbox", "bbox-crs", "datetime",
                      "properties", "sortby", "skipGeometry", "crs", "filter", "filter-lang",
                      "filter-crs", "resulttype"})


@dataclass(frozen=True)
class CollectionInfo:
    """What the items route needs to know about a collection."""

    id: str
    table: str
    source: str
    id_field: str
    geometry_column: str
    time_field: str | None
    default_order: list[str]
    columns: dict[str, str]  # visible property -> PostgreSQL type
    limits: dict[str, Any]
    crs: list[str]
    count: str = "exact"  # numberMatched: exact, estimated (planner) or off
    extent: list[float] | None = None  # CRS84 bbox of the data when the server started
    personal: frozenset[str] = frozenset()  # visible personal columns: their reads are logged


def parse_limit(args: Mapping[str, str], limits: dict[str, Any]) -> int:
    raw = args.get("limit")
    maximum = limits.get("max_items", 10)
    # pygeoapi's evaluate_limit reads "true" as a number (True).
    if raw is not None and not (raw.isdigit() and len(raw) <= 12):
        raise RequestError(f"limit must be a whole number from 1 to {maximum}; got {raw!r}.")
    try:
        return int(evaluate_limit(raw, limits, {}))
    except ValueError as exc:
        raise RequestError(f"limit must be a whole number from 1 to {maximum} ({exc}).") from exc


def parse_offset(args: Mapping[str, str]) -> int:
    raw = args.get("offset", "0")
    maximum = get_settings().max_offset
    if not raw.isdigit() or len(raw) > 12 or int(raw) > maximum:
        raise RequestError(f"offset must be a whole number from 0 to {maximum:,}; got {raw!r}"
                           " (page deeper with a filter, bbox or datetime instead).")
    return int(raw)


def parse_bbox(args: Mapping[str, str],
               supported: list[str]) -> tuple[list[float] | None, int]:
    """The bbox in x/y order and its SRID (geographic CRSs all count as CGCS2000)."""
    raw = args.get("bbox")
    if raw is None:
        if "bbox-crs" in args:
            raise RequestError("bbox-crs was given without bbox.")
        return None, 4490
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise RequestError(f"bbox must be 4 or 6 comma-separated numbers; got {raw!r}.") from None
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise RequestError(f"bbox must be 4 or 6 comma-separated numbers; got {raw!r}.")
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    crs_uri = args.get("bbox-crs", CRS84)
    if crs_uri not in supported:
        raise RequestError(f"bbox-crs {crs_uri} is not supported; use one of "
                           f"{', '.join(supported)}.")
    crs = output_crs(crs_uri)
    if crs.lat_first:
        values = [values[1], values[0], values[3], values[2]]
    if values[0] > values[2] or values[1] > values[3]:
        raise RequestError("bbox must be min x, min y, max x, max y (lower-left corner first).")
    if crs.srid != 3857 and not (-180 <= values[0] <= 180 and -90 <= values[1] <= 90
                                 and -180 <= values[2] <= 180 and -90 <= values[3] <= 90):
        raise RequestError("bbox coordinates are out of range for longitude/latitude.")
    # CGCS2000 and WGS84 differ by well under a metre: no datum shift is applied.
    return values, (3857 if crs.srid == 3857 else 4490)


def _instant(text: str) -> str:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RequestError(f"datetime {text!r} is not an RFC 3339 date or date-time; "
                           "write e.g. 2026-05-01T00:00:00Z or 2026-05-01/2026-06-01.") from None
    return text


def parse_datetime(args: Mapping[str, str], time_field: str | None) -> str | None:
    raw = args.get("datetime")
    if raw is None:
        return None
    if time_field is None:
        raise RequestError("this collection has no time property, so datetime cannot filter it.")
    parts = raw.split("/")
    if len(parts) > 2:
        raise RequestError(f"datetime {raw!r} has more than one '/'.")
    for part in parts:
        if part not in ("", ".."):
            _instant(part)
    return raw


def known(names: list[str], columns: dict[str, str], what: str) -> list[str]:
    """``names`` if each is a property of the collection, else a 400 naming them all."""
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise RequestError(f"unknown property {', '.join(map(repr, unknown))} in {what}; "
                           f"this collection's properties are: {', '.join(columns)}.")
    return names


def parse_properties(args: Mapping[str, str], columns: dict[str, str]) -> list[str]:
    raw = args.get("properties")
    if raw is None:
        return list(columns)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    return [c for c in columns if c in set(known(names, columns, "properties"))]


def parse_sortby(args: Mapping[str, str], columns: dict[str, str]) -> list[tuple[str, bool]]:
    raw = args.get("sortby")
    if not raw:
        return []
    terms = []
    for term in (t.strip() for t in raw.split(",") if t.strip()):
        descending = term.startswith("-")
        name = term.lstrip("+-").strip()
        terms.append((known([name], columns, "sortby")[0], not descending))
    return terms


def parse_flag(args: Mapping[str, str], name: str) -> bool:
    raw = args.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise RequestError(f"{name} must be true or false; got {raw!r}.")
    return raw in ("true", "1")


def parse_output_crs(args: Mapping[str, str], supported: list[str]) -> OutputCrs:
    uri = args.get("crs", CRS84)
    if uri not in supported:
        raise RequestError(f"crs {uri} is not supported; use one of {', '.join(supported)}.")
    return output_crs(uri)


def property_filters(args: Mapping[str, str], columns: dict[str, str]) -> list[tuple[str, str]]:
    """``name=value`` parameters; an unknown name is an error, not silently ignored."""
    extra = [k for k in args if k not in RESERVED]
    known(extra, columns, "the query parameters")
    return [(k, args[k]) for k in extra]


def parse_filter(args: Mapping[str, str], info: CollectionInfo,
                 ) -> tuple[sql.Composable, list[Any]] | None:
    """The CQL2 ``filter`` (text or JSON) compiled against the caller's visible columns."""
    text = args.get("filter")
    if text is None:
        for name in ("filter-lang", "filter-crs"):
            if name in args:
                raise RequestError(f"{name} was given without filter.")
        return None
    lang = args.get("filter-lang")
    if lang not in (None, "cql2-text", "cql2-json", "cql-text", "cql-json"):
        raise RequestError(f"filter-lang {lang!r} is not supported; use cql2-text or cql2-json.")
    crs_uri = args.get("filter-crs", CRS84)
    if crs_uri not in info.crs:
        raise RequestError(f"filter-crs {crs_uri} is not supported; use one of "
                           f"{', '.join(info.crs)}.")
    crs = output_crs(crs_uri)
    try:
        return compile_filter(text, lang, info.columns, info.geometry_column,
                              filter_srid=crs.srid, lat_first_filter=crs.lat_first)
    except CqlError as exc:
        raise RequestError(str(exc)) from None


def build_query(args: Mapping[str, str], info: CollectionInfo) -> FeatureQuery:
    """The FeatureQuery an items request asks for."""
    bbox, bbox_srid = parse_bbox(args, info.crs)
    return FeatureQuery(
        source=info.source, id_field=info.id_field, geometry_column=info.geometry_column,
        columns=parse_properties(args, info.columns),
        output=parse_output_crs(args, info.crs), time_field=info.time_field,
        bbox=bbox, bbox_srid=bbox_srid, datetime=parse_datetime(args, info.time_field),
        equals=property_filters(args, info.columns), condition=parse_filter(args, info),
        sort=parse_sortby(args, info.columns),
        default_order=info.default_order, limit=parse_limit(args, info.limits),
        offset=parse_offset(args), skip_geometry=parse_flag(args, "skipGeometry"))
