"""SQL for feature queries: identifiers quoted by psycopg, every value a bound parameter.

The database builds each feature's GeoJSON text; Python only joins the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from gridgeo.provider.crs import OutputCrs
from gridgeo.provider.ids import id_equals

SCHEMA = "gridgeo"
_FAR = 1e9  # beyond any EPSG:4490 coordinate


@dataclass
class FeatureQuery:
    """One request against a collection's source relation."""

    source: str
    id_field: str
    geometry_column: str
    columns: list[str]
    output: OutputCrs
    time_field: str | None = None
    bbox: list[float] | None = None
    bbox_srid: int = 4490
    datetime: str | None = None
    equals: list[tuple[str, str]] = field(default_factory=list)
    condition: tuple[sql.Composable, list[Any]] | None = None  # a compiled CQL2 filter
    sort: list[tuple[str, bool]] = field(default_factory=list)
    default_order: list[str] = field(default_factory=list)
    limit: int = 10
    offset: int = 0
    skip_geometry: bool = False
    id_type: str = "text"  # the id column's PostgreSQL type

    @property
    def plan_per_request(self) -> bool:
        """Whether the best plan depends on the values: a prepared statement's generic plan
        guesses a bbox's selectivity (the same for a street and the whole town), which
        turned an extent page into a sort of every row. Such statements are never
        prepared, so PostgreSQL plans them with the values (and folds the envelope and
        its transform into a constant instead of computing them per row)."""
        return bool(self.bbox or self.datetime or self.equals or self.condition)

    @property
    def prepare(self) -> bool | None:
        """psycopg's ``prepare`` argument for this query's statements."""
        return False if self.plan_per_request else None

    # -- pieces ----------------------------------------------------------------

    def _relation(self) -> sql.Composable:
        return sql.SQL("{}.{} AS t").format(sql.Identifier(SCHEMA), sql.Identifier(self.source))

    def _col(self, name: str) -> sql.Composable:
        return sql.SQL("t.{}").format(sql.Identifier(name))

    def where(self) -> tuple[sql.Composable, list[Any]]:
        parts: list[sql.Composable] = []
        params: list[Any] = []
        if self.bbox:
            parts.append(sql.SQL("ST_Intersects({}, {})").format(
                self._col(self.geometry_column), self._bbox_geometry()))
            params.extend(self.bbox)
        if self.datetime and self.time_field:
            clause, values = self._time_clause(self.datetime)
            parts.append(clause)
            params.extend(values)
        for name, value in self.equals:
            parts.append(sql.SQL("{}::text = %s").format(self._col(name)))
            params.append(value)
        if self.condition is not None:
            parts.append(sql.SQL("({})").format(self.condition[0]))
            params.extend(self.condition[1])
        if not parts:
            return sql.SQL(""), params
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params

    def bbox_area(self) -> tuple[sql.Composable, list[Any]]:
        """The bbox as an EPSG:4490 geometry expression and its parameters."""
        assert self.bbox is not None
        return self._bbox_geometry(), list(self.bbox)

    def _bbox_geometry(self) -> sql.Composable:
        envelope = sql.SQL("ST_MakeEnvelope(%s, %s, %s, %s, {})").format(
            sql.Literal(self.bbox_srid))
        if self.bbox_srid == 4490:
            return envelope
        # Densify before reprojecting: a 4-corner box bends into a different shape.
        assert self.bbox is not None
        step = max(self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1]) / 64 or 1.0
        return sql.SQL("ST_Transform(ST_Segmentize({}, {}), 4490)").format(
            envelope, sql.Literal(step))

    def _time_clause(self, value: str) -> tuple[sql.Composable, list[Any]]:
        column = self._col(self.time_field or "")
        if "/" not in value:
            return sql.SQL("{} = %s::timestamptz").format(column), [value]
        start, end = (part.strip() for part in value.split("/", 1))
        clauses, values = [], []
        if start not in ("", ".."):
            clauses.append(sql.SQL("{} >= %s::timestamptz").format(column))
            values.append(start)
        if end not in ("", ".."):
            clauses.append(sql.SQL("{} <= %s::timestamptz").format(column))
            values.append(end)
        if not clauses:
            return sql.SQL("{} IS NOT NULL").format(column), []
        return sql.SQL("(") + sql.SQL(" AND ").join(clauses) + sql.SQL(")"), values

    def order(self) -> sql.Composable:
        """Requested order, then a stable tie-break on the id so pages never overlap. A
        period (``datetime``) with no ``sortby`` is read in time order: its page then comes
        from the time index, where id order walked every row before the period (ids follow
        time, which the planner cannot know): a month of incidents took 3.6 s at 10
        million, 39 ms in time order (scripts/bench_scale.py)."""
        terms = [(name, asc) for name, asc in self.sort]
        if not terms and self.datetime and self.time_field:
            terms = [(self.time_field, True)]
        terms = terms or [(n, True) for n in self.default_order]
        if self.id_field not in [name for name, _ in terms]:
            terms.append((self.id_field, True))
        return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
            sql.SQL("{} {}").format(self._col(name), sql.SQL("ASC" if asc else "DESC"))
            for name, asc in terms)

    def geometry_json(self) -> sql.Composable:
        geom: sql.Composable = self._col(self.geometry_column)
        if self.output.srid != 4490:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(self.output.srid))
        if self.output.lat_first:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        return sql.SQL("ST_AsGeoJSON({}, {})::json").format(geom, sql.Literal(self.output.digits))

    def feature_json(self) -> sql.Composable:
        """One Feature as json; properties keep the column order."""
        props = sql.SQL(", ").join(self._col(c) for c in self.columns)
        properties = (sql.SQL("(SELECT to_json(p) FROM (SELECT {}) AS p)").format(props)
                      if self.columns else sql.SQL("'{}'::json"))
        geometry = sql.SQL("NULL::json") if self.skip_geometry else self.geometry_json()
        return sql.SQL(
            "json_build_object('type', 'Feature', 'id', {}, 'geometry', {}, 'properties', {})"
        ).format(self._col(self.id_field), geometry, properties)

    # -- statements ------------------------------------------------------------

    def features(self) -> tuple[sql.Composed, list[Any]]:
        where, params = self.where()
        stmt = (sql.SQL("SELECT {}::text FROM {}").format(self.feature_json(), self._relation())
                + where + self.order() + sql.SQL(" LIMIT %s OFFSET %s"))
        return stmt, [*params, self.limit, self.offset]

    def count(self) -> tuple[sql.Composed, list[Any]]:
        where, params = self.where()
        return sql.SQL("SELECT count(*) FROM {}").format(self._relation()) + where, params

    def estimate(self) -> tuple[sql.Composed, list[Any]]:
        """The planner's row estimate: cheap where an exact count would scan a large table."""
        where, params = self.where()
        return sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(self._relation()) \
            + where, params

    def outside_bbox(self, may_be_null: bool = True) -> tuple[sql.Composed, list[Any]]:
        """Whether any row lies outside the (EPSG:4490) bbox. None does when a client asks
        for its layer's extent, as QGIS does: then the bbox filters nothing and the page
        is read without it (an exact count otherwise tests every row's geometry). Only
        rows touching the four sides beyond the bbox are tested, through the index; a
        row without geometry is outside too, unless the geometry ``may_be_null`` not:
        a GiST index holds no summary of its nulls, so ``IS NULL`` reads all of it
        (3.8 ms of the probe's 3.9 at 200,000 addresses)."""
        assert self.bbox is not None and self.bbox_srid == 4490
        x1, y1, x2, y2 = self.bbox
        beyond = [(-_FAR, -_FAR, x1, _FAR), (x2, -_FAR, _FAR, _FAR),
                  (-_FAR, -_FAR, _FAR, y1), (-_FAR, y2, _FAR, _FAR)]
        geom = self._col(self.geometry_column)
        side = sql.SQL("({} && ST_MakeEnvelope(%s, %s, %s, %s, 4490) AND NOT ST_CoveredBy({}, "
                       "ST_MakeEnvelope(%s, %s, %s, %s, 4490)))").format(geom, geom)
        tests = [side] * len(beyond)
        if may_be_null:
            tests.insert(0, sql.SQL("{} IS NULL").format(geom))
        stmt = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
            self._relation(), sql.SQL(" OR ").join(tests))
        return stmt, [v for box in beyond for v in (*box, *self.bbox)]

    def single(self, identifier: str,
               version_of: str | None = None) -> tuple[sql.Composed, list[Any]]:
        """One feature by id; with ``version_of`` (the table behind the source), also the
        item's row version (xmin) in that table, read by the same statement so the body
        and the ETag describe one snapshot."""
        columns: list[sql.Composable] = [sql.SQL("{}::text").format(self.feature_json())]
        if version_of == self.source:
            columns.append(sql.SQL("t.xmin::text"))
        elif version_of is not None:
            columns.append(sql.SQL("(SELECT v.xmin::text FROM {}.{} AS v WHERE v.{} = {})")
                           .format(sql.Identifier(SCHEMA), sql.Identifier(version_of),
                                   sql.Identifier(self.id_field), self._col(self.id_field)))
        stmt = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            sql.SQL(", ").join(columns), self._relation(),
            id_equals(self._col(self.id_field), self.id_type))
        return stmt, [identifier]
