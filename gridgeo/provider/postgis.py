"""The pygeoapi feature provider behind every gridgeo collection.

pygeoapi builds a provider per request, so construction only reads the
provider definition; the pool and column metadata live at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import orjson
import psycopg
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from gridgeo.db.area import protected_relations, read_within
from gridgeo.db.pool import connection
from gridgeo.errors import RequestError
from gridgeo.identity import current_identity
from gridgeo.provider.columns import Column, source_columns
from gridgeo.provider.crs import OutputCrs, output_crs, storage_bbox_xy
from gridgeo.provider.ids import well_formed
from gridgeo.provider.params import CollectionInfo, known, parse_filter, property_filters
from gridgeo.provider.query import FeatureQuery
from gridgeo.security.access import collection_of, may_see_personal
from gridgeo.security.reads import log_personal_read, personal_item_ids
from gridgeo.settings import get_settings

LOGGER = logging.getLogger(__name__)

class PostGISProvider(BaseProvider):
    """Reads a gridgeo collection from PostGIS; GeoJSON text comes from the database."""

    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        data = provider_def["data"]
        self.table: str = data["table"]
        self.source: str = data.get("source", self.table)
        self.geometry_column: str = data.get("geometry_column", "geom")
        self.personal: frozenset[str] = frozenset(data.get("personal", ()))
        self.default_order: list[str] = list(data.get("order_by", ()))
        self.provider_def = provider_def
        # pygeoapi hands over every name=value parameter, so an unknown name is refused
        # here as on the JSON route instead of being dropped silently.
        self.include_extra_query_parameters = True

    # -- metadata ----------------------------------------------------------------

    def _columns(self) -> dict[str, Column]:
        try:
            return source_columns(self.source)
        except psycopg.OperationalError as exc:
            LOGGER.error("database unavailable: %s", exc)
            raise ProviderConnectionError(user_msg="The database is not reachable; "
                                          "try again shortly.") from exc

    def visible_columns(self) -> list[str]:
        """Property columns this request's caller may see, in table order."""
        hidden = {self.geometry_column}
        if not may_see_personal(current_identity(), *collection_of(self.provider_def)):
            hidden |= self.personal
        return [name for name in self._columns() if name not in hidden]

    def column_types(self) -> dict[str, str]:
        """Every column's PostgreSQL type, geometry and personal columns included."""
        return {name: column.pg_type for name, column in self._columns().items()}

    def get_fields(self) -> dict[str, dict[str, str]]:
        columns = self._columns()
        return {name: columns[name].field_schema() for name in self.visible_columns()}

    @property
    def fields(self) -> dict[str, dict[str, str]]:
        # Depends on who asks, so never the base class's cached ``_fields``.
        return self.get_fields()

    # -- reading ------------------------------------------------------------------

    def _feature_query(self, crs_transform_spec: Any = None,
                       select_properties: list[str] | None = None,
                       skip_geometry: bool = False) -> FeatureQuery:
        target = getattr(crs_transform_spec, "target_crs_uri", None)
        try:
            out: OutputCrs = output_crs(target)
        except ValueError as exc:
            raise ProviderInvalidQueryError(user_msg=str(exc)) from exc
        columns = self.visible_columns()
        if select_properties:
            columns = [c for c in columns if c in set(select_properties)]
        return FeatureQuery(
            source=self.source, id_field=self.id_field, geometry_column=self.geometry_column,
            columns=columns, output=out, time_field=self.time_field,
            default_order=self.default_order, skip_geometry=skip_geometry,
            id_type=self.column_types().get(self.id_field, "text"))

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list[float] | None = None, datetime_: str | None = None,
              properties: list[tuple[str, str]] | None = None,
              sortby: list[dict[str, str]] | None = None,
              select_properties: list[str] | None = None, skip_geometry: bool = False,
              q: str | None = None, filterq: Any = None, crs_transform_spec: Any = None,
              **kwargs: Any) -> dict[str, Any]:
        if q:
            raise ProviderInvalidQueryError(
                user_msg="Free-text search (q) is not supported; filter by a property instead.")
        maximum = get_settings().max_offset
        if int(offset) > maximum:
            raise ProviderInvalidQueryError(
                user_msg=f"offset must be at most {maximum:,}; narrow the query instead.")
        fq = self._feature_query(crs_transform_spec, select_properties, skip_geometry)
        fq.condition = self._filter_condition()
        fq.bbox = storage_bbox_xy(bbox) if bbox else None
        fq.datetime = datetime_
        fq.equals, fq.sort = self._checked(properties or [], sortby or [])
        fq.limit, fq.offset = int(limit), int(offset)
        with database_errors(), connection(read=True) as conn:
            if fq.bbox and self.table in protected_relations(conn):
                read_within(conn, *fq.bbox_area())
            matched = conn.execute(*fq.count(), prepare=fq.prepare).fetchone()[0]  # type: ignore[index]
            rows = [] if resulttype == "hits" else conn.execute(
                *fq.features(), prepare=fq.prepare).fetchall()
        features = orjson.loads("[" + ",".join(r[0] for r in rows) + "]")
        self._log_personal(features)
        return {"type": "FeatureCollection", "features": features,
                "numberMatched": matched, "numberReturned": len(features)}

    def _checked(self, properties: list[tuple[str, str]], sortby: list[dict[str, str]]
                 ) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
        """pygeoapi's name=value and sortby, refused by the request model's rules."""
        columns = self.describe().columns
        try:
            equals = property_filters(dict(properties), columns)
            sort = [(known([s["property"]], columns, "sortby")[0], s.get("order", "+") != "-")
                    for s in sortby]
        except RequestError as exc:
            raise ProviderInvalidQueryError(user_msg=exc.message) from None
        return equals, sort

    def describe(self, collection_id: str = "",
                 limits: dict[str, Any] | None = None) -> CollectionInfo:
        """What the items route needs to know of this collection, for the current caller
        (a ``CollectionInfo``)."""
        types = self.column_types()
        return CollectionInfo(
            id=collection_id, table=self.table, source=self.source, id_field=self.id_field,
            geometry_column=self.geometry_column, time_field=self.time_field,
            default_order=self.default_order,
            columns={name: types[name] for name in self.visible_columns()},
            limits=limits or {}, crs=list(self.provider_def.get("crs", [])),
            count=self.provider_def["data"].get("count", "exact"),
            personal=self.personal & set(self.visible_columns()))

    def _filter_condition(self) -> tuple[Any, list[Any]] | None:
        """The CQL2 filter of this request, which gridgeo hands over in the provider
        definition (``data.filter``) because pygeoapi's own parser refuses standard CQL2."""
        params = self.provider_def["data"].get("filter")
        if not params:
            return None
        try:
            return parse_filter(params, self.describe())
        except RequestError as exc:
            raise ProviderInvalidQueryError(user_msg=exc.message) from None

    def get(self, identifier: Any, crs_transform_spec: Any = None,
            **kwargs: Any) -> dict[str, Any]:
        fq = self._feature_query(crs_transform_spec)
        row = None
        if well_formed(str(identifier), fq.id_type):
            with database_errors(), connection(read=True) as conn:
                row = conn.execute(*fq.single(str(identifier))).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(
                user_msg=f"No item with id {identifier} in this collection.")
        feature: dict[str, Any] = orjson.loads(row[0])
        self._log_personal([feature])
        return feature

    def _log_personal(self, features: list[dict[str, Any]]) -> None:
        """Log who received personal values (HTML, CSV, JSON-LD come through here)."""
        fields = self.personal & set(self.visible_columns())
        if fields:
            collection_id, _ = collection_of(self.provider_def)
            log_personal_read(collection_id or self.source, fields,
                              personal_item_ids(features, fields))

    def __repr__(self) -> str:
        return f"<PostGISProvider> {self.source}"


class QueryTooSlow(ProviderQueryError):
    """The statement timeout cancelled the query: 503 with a sentence, not a 500."""

    ogc_exception_code = "ServiceUnavailable"
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE


@contextmanager
def database_errors() -> Iterator[None]:
    """Turns database failures into pygeoapi errors with a sentence, never the raw message."""
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        LOGGER.error("query cancelled: %s", exc)
        raise QueryTooSlow(user_msg="The query took too long and was cancelled; "
                           "narrow it with bbox, datetime or a smaller limit.") from exc
    except (psycopg.errors.DataError, psycopg.errors.InvalidTextRepresentation) as exc:
        LOGGER.error("bad value: %s", exc)
        raise ProviderInvalidQueryError(
            user_msg="A parameter value has the wrong form for its property "
                     "(e.g. a date or number); check the values you sent.") from exc
    except psycopg.OperationalError as exc:
        LOGGER.error("database unavailable: %s", exc)
        raise ProviderConnectionError(user_msg="The database is not reachable; "
                                      "try again shortly.") from exc
    except psycopg.Error as exc:
        LOGGER.error("database error: %s", exc)
        raise ProviderQueryError(user_msg="The query failed on the server.") from exc
