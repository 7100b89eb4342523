"""The CQL2 compiler, checked by running its SQL on PostGIS against hand-worked answers.

Every test here builds its own temporary tables on a connection to the main database
(one transaction, rolled back at the end), so nothing depends on the demo data or on
tests/conftest.py. Expected rows are written out by hand from the row values below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pyproj import Geod

from gridgeo.db.cluster import database_url
from gridgeo.provider.cql import MAX_DEPTH, MAX_LENGTH, CqlError, compile_filter
from gridgeo.settings import get_settings

ALL = {"alpha", "beta", "gamma", "delta", "epsilon"}

# The hand-checked table: one row per name, geometries in EPSG:4490 (lon/lat, Beijing).
COLUMNS = {
    "name": "text", "colour": "text", "floors": "integer", "height": "double precision",
    "note": "text", "active": "boolean", "built": "date",
    "reported": "timestamp with time zone", "closed": "timestamp with time zone",
    "uid": "uuid", "info": "jsonb", "geom": "geometry",
}
ROWS_SQL = """
INSERT INTO t_cql VALUES
 ('alpha', 'Red', 3, 10.5, 'café corner', true, '2020-01-01',
  '2024-05-01T08:00:00+08', '2024-05-03T08:00:00+08',
  '6f1c0a52-0000-4000-8000-000000000001', '{"k": 1}',
  ST_GeomFromText('POINT(116.40 39.90)', 4490)),
 ('beta', 'blue', 7, 25.0, NULL, false, '2021-06-15',
  '2024-05-02T00:00:00Z', NULL,
  '6f1c0a52-0000-4000-8000-000000000002', NULL,
  ST_GeomFromText('POINT(116.41 39.90)', 4490)),
 ('gamma', 'green', 12, 40.0, '100% done', true, '2019-12-31',
  '2024-04-30T23:59:59.999999+08', '2024-05-01T00:00:00+08',
  NULL, NULL,
  ST_GeomFromText('POINT(116.50 40.00)', 4490)),
 ('delta', NULL, NULL, NULL, 'a_b', NULL, NULL,
  NULL, NULL, NULL, NULL,
  ST_GeomFromText('LINESTRING(116.30 39.80, 116.35 39.85)', 4490)),
 ('epsilon', 'RED', 5, 5.0, 'axb', false, '2020-01-01',
  '2024-05-10T12:00:00Z', '2024-05-11T12:00:00Z', NULL, NULL,
  ST_GeomFromText('POLYGON((116.20 39.70, 116.25 39.70, 116.25 39.75, 116.20 39.75,
                            116.20 39.70))', 4490))
"""
CREATE_SQL = """
CREATE TEMP TABLE t_cql (
    name text PRIMARY KEY, colour text, floors integer, height double precision,
    note text, active boolean, built date, reported timestamptz, closed timestamptz,
    uid uuid, info jsonb, geom geometry(Geometry, 4490))
"""


@pytest.fixture(scope="module")
def db() -> Iterator[psycopg.Connection]:
    """A connection whose one transaction holds the temporary tables; rolled back at the end."""
    with psycopg.connect(database_url(get_settings())) as conn:
        conn.execute("SET TIME ZONE 'Asia/Shanghai'")  # as gridgeo's pool sets it
        conn.execute(CREATE_SQL)
        conn.execute(ROWS_SQL)
        # The same rows stored in a projected CRS, to show answers do not depend on it.
        conn.execute("CREATE TEMP TABLE t_cql_3857 AS SELECT name, "
                     "ST_Transform(geom, 3857) AS geom FROM t_cql")
        _create_example_tables(conn)
        yield conn
        conn.rollback()


def matching(db: psycopg.Connection, cql: str | dict[str, Any], lang: str | None = None,
             table: str = "t_cql", columns: dict[str, str] | None = None, key: str = "name",
             **options: Any) -> set[str]:
    """Keys of the rows the compiled filter selects."""
    condition, params = compile_filter(cql, lang, columns or COLUMNS, "geom", **options)
    query = sql.SQL("SELECT {} FROM {} AS t WHERE {}").format(
        sql.Identifier(key), sql.Identifier(table), condition)
    with db.transaction():
        return {row[0] for row in db.execute(query, params)}


def hand_sql(db: psycopg.Connection, where: str, params: tuple[Any, ...] = ()) -> set[str]:
    """Names selected by a WHERE clause written by hand in this test."""
    with db.transaction():
        rows = db.execute(f"SELECT name FROM t_cql AS t WHERE {where}", params)  # type: ignore[arg-type]
        return {row[0] for row in rows}


def cql_error(cql: str | dict[str, Any], lang: str | None = None, **options: Any) -> str:
    """The message of the CqlError the filter raises; it must be one sentence."""
    with pytest.raises(CqlError) as caught:
        compile_filter(cql, lang, COLUMNS, "geom", **options)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message
    return message


# -- comparisons, arithmetic, logic ----------------------------------------------------------

@pytest.mark.parametrize(("cql", "expected"), [
    ("floors = 7", {"beta"}),
    ("floors <> 7", {"alpha", "gamma", "epsilon"}),
    ("floors < 5", {"alpha"}),
    ("floors <= 5", {"alpha", "epsilon"}),
    ("floors > 5", {"beta", "gamma"}),
    ("floors >= 12", {"gamma"}),
    ("height > 10", {"alpha", "beta", "gamma"}),
    ("floors = '7'", {"beta"}),
    ("active = 'true'", {"alpha", "gamma"}),
    ("floors = height", {"epsilon"}),
    ("colour = 'blue'", {"beta"}),
    ("colour = 'red'", set()),
    ("CASEI(colour) = CASEI('red')", {"alpha", "epsilon"}),
    ("active = TRUE", {"alpha", "gamma"}),
    ("active = false", {"beta", "epsilon"}),
    ("built = DATE('2020-01-01')", {"alpha", "epsilon"}),
    ("built > DATE('2020-01-01')", {"beta"}),
    ("built < '2020-01-01'", {"gamma"}),
    ("uid = '6f1c0a52-0000-4000-8000-000000000002'", {"beta"}),
    ("reported >= TIMESTAMP('2024-05-01T00:00:00Z')", {"alpha", "beta", "epsilon"}),
])
def test_comparisons(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


@pytest.mark.parametrize(("cql", "expected"), [
    ("floors + 1 = 4", {"alpha"}),
    ("floors * 2 > 20", {"gamma"}),
    ("floors / 2 = 3.5", {"beta"}),  # real division: 7 / 2 is 3.5, not 3
    ("floors div 2 = 3", {"beta"}),
    ("floors % 5 = 2", {"beta", "gamma"}),
    ("floors ^ 2 = 9", {"alpha"}),
    ("-floors < -10", {"gamma"}),
    ("height - floors > 20", {"gamma"}),
    ("floors / 0 = 1", set()),  # no division-by-zero error, just no match
])
def test_arithmetic(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


@pytest.mark.parametrize(("cql", "expected"), [
    ("floors = 3 OR floors = 7 AND active = TRUE", {"alpha"}),
    ("(floors = 3 OR floors = 7) AND active = FALSE", {"beta"}),
    ("NOT (floors > 5)", {"alpha", "epsilon"}),
    ("NOT floors > 5 OR colour IS NULL", {"alpha", "delta", "epsilon"}),
    ("TRUE", ALL),
])
def test_logic(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


def test_matches_hand_written_sql(db: psycopg.Connection) -> None:
    assert matching(db, "floors > 5 AND colour <> 'green'") \
        == hand_sql(db, "floors > 5 AND colour <> 'green'") == {"beta"}
    assert matching(db, "note LIKE '%o%' OR height BETWEEN 5 AND 11") \
        == hand_sql(db, "note LIKE '%%o%%' OR height BETWEEN 5 AND 11")
    assert matching(db, "colour IN ('Red', 'RED') AND active = FALSE") \
        == hand_sql(db, "colour IN (%s, %s) AND active = %s", ("Red", "RED", False))


# -- LIKE, IN, BETWEEN, IS NULL ------------------------------------------------------------

@pytest.mark.parametrize(("cql", "expected"), [
    ("note LIKE 'caf%'", {"alpha"}),
    ("note LIKE 'a_b'", {"delta", "epsilon"}),
    ("note LIKE 'a\\_b'", {"delta"}),
    ("note LIKE '100\\%%'", {"gamma"}),
    ("note NOT LIKE 'a%'", {"alpha", "gamma"}),
    ("CASEI(colour) LIKE CASEI('r%')", {"alpha", "epsilon"}),
    ("colour LIKE 'R%'", {"alpha", "epsilon"}),
    ("colour LIKE 'r%'", set()),
])
def test_like(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


@pytest.mark.parametrize(("cql", "expected"), [
    ("colour IN ('blue', 'green')", {"beta", "gamma"}),
    ("colour NOT IN ('blue', 'green')", {"alpha", "epsilon"}),
    ("floors IN (3, 12)", {"alpha", "gamma"}),
    ("CASEI(colour) IN (CASEI('RED'), CASEI('Green'))", {"alpha", "epsilon", "gamma"}),
    ("floors BETWEEN 5 AND 7", {"beta", "epsilon"}),
    ("floors NOT BETWEEN 5 AND 7", {"alpha", "gamma"}),
    ("built BETWEEN DATE('2020-01-01') AND DATE('2021-06-15')", {"alpha", "beta", "epsilon"}),
    ("colour IS NULL", {"delta"}),
    ("note IS NOT NULL", {"alpha", "gamma", "delta", "epsilon"}),
    ("info IS NULL", {"beta", "gamma", "delta", "epsilon"}),
    ("geometry IS NULL", set()),
])
def test_in_between_null(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


# -- time -------------------------------------------------------------------------------------
# alpha reported 2024-05-01T00:00Z, beta 2024-05-02T00:00Z, gamma 2024-04-30T15:59:59.999999Z
# (one microsecond before 1 May begins in Asia/Shanghai, the session time zone).

@pytest.mark.parametrize(("cql", "expected"), [
    ("T_AFTER(reported, TIMESTAMP('2024-05-01T00:00:00Z'))", {"beta", "epsilon"}),
    ("T_BEFORE(reported, TIMESTAMP('2024-05-01T00:00:00Z'))", {"gamma"}),
    ("T_EQUALS(reported, TIMESTAMP('2024-05-01T08:00:00+08:00'))", {"alpha"}),
    ("T_INTERSECTS(reported, DATE('2024-05-01'))", {"alpha"}),
    ("T_DURING(reported, INTERVAL('2024-04-30T15:59:59.999999Z', '2024-05-02T00:00:00Z'))",
     {"alpha"}),
    ("T_AFTER(reported, DATE('2024-04-30'))", {"alpha", "beta", "epsilon"}),
    ("T_BEFORE(reported, DATE('2024-05-01'))", {"gamma"}),
    ("T_AFTER(built, DATE('2020-01-01'))", {"beta"}),
    ("T_BEFORE(built, DATE('2020-01-01'))", {"gamma"}),
    ("T_EQUALS(built, DATE('2020-01-01'))", {"alpha", "epsilon"}),
    ("T_DISJOINT(reported, INTERVAL('2024-05-01T00:00:00Z', '2024-05-01T23:00:00Z'))",
     {"beta", "gamma", "epsilon"}),
    ("T_DURING(INTERVAL(reported, closed), INTERVAL('2024-04-01T00:00:00Z', '..'))",
     {"alpha", "gamma", "epsilon"}),
    ("T_INTERSECTS(INTERVAL(reported, closed), INTERVAL('..', '2024-04-30T16:00:00Z'))",
     {"gamma"}),
    ("T_MEETS(INTERVAL(reported, closed), INTERVAL('2024-04-30T16:00:00Z', '..'))",
     {"gamma"}),
    ("T_METBY(INTERVAL(reported, closed), INTERVAL('..', '2024-05-01T00:00:00Z'))", {"alpha"}),
    ("T_STARTS(INTERVAL(reported, closed), INTERVAL('2024-05-01T00:00:00Z', '..'))",
     {"alpha"}),
    ("T_STARTEDBY(INTERVAL(reported, closed), "
     "INTERVAL('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'))", {"alpha"}),
    ("T_FINISHES(INTERVAL(reported, closed), "
     "INTERVAL('2024-04-01T00:00:00Z', '2024-05-03T00:00:00Z'))", {"alpha"}),
    ("T_FINISHEDBY(INTERVAL(reported, closed), "
     "INTERVAL('2024-05-02T00:00:00Z', '2024-05-03T00:00:00Z'))", {"alpha"}),
    ("T_CONTAINS(INTERVAL('2024-04-01T00:00:00Z', '2024-06-01T00:00:00Z'), "
     "INTERVAL(reported, closed))", {"alpha", "gamma", "epsilon"}),
    ("T_OVERLAPS(INTERVAL(reported, closed), "
     "INTERVAL('2024-05-02T00:00:00Z', '2024-05-10T00:00:00Z'))", {"alpha"}),
    ("T_OVERLAPPEDBY(INTERVAL(reported, closed), "
     "INTERVAL('2024-05-10T00:00:00Z', '2024-05-11T00:00:00Z'))", {"epsilon"}),
    ("T_INTERSECTS(INTERVAL(built, reported), INTERVAL('..', '..'))",
     {"alpha", "beta", "gamma", "epsilon"}),
])
def test_temporal(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


# -- space ------------------------------------------------------------------------------------
# alpha POINT(116.40 39.90), beta POINT(116.41 39.90), gamma POINT(116.50 40.00),
# delta LINESTRING(116.30 39.80, 116.35 39.85), epsilon the square 116.20-116.25 x 39.70-39.75.

AROUND_ALPHA = "POLYGON((116.395 39.895, 116.405 39.895, 116.405 39.905, 116.395 39.905, " \
               "116.395 39.895))"


@pytest.mark.parametrize(("cql", "expected"), [
    (f"S_INTERSECTS(geometry, {AROUND_ALPHA})", {"alpha"}),
    (f"S_DISJOINT(geometry, {AROUND_ALPHA})", ALL - {"alpha"}),
    (f"S_WITHIN(geom, {AROUND_ALPHA})", {"alpha"}),
    ("S_WITHIN(geometry, BBOX(116.39, 39.89, 116.42, 39.91))", {"alpha", "beta"}),
    ("BBOX(geometry, 116.39, 39.89, 116.42, 39.91)", {"alpha", "beta"}),
    ("S_INTERSECTS(geometry, BBOX(116.24, 39.74, 116.29, 39.79))", {"epsilon"}),
    ("S_CONTAINS(geometry, POINT(116.22 39.72))", {"epsilon"}),
    ("S_CROSSES(geometry, LINESTRING(116.32 39.80, 116.32 39.90))", {"delta"}),
    ("S_EQUALS(geometry, POINT(116.41 39.9))", {"beta"}),
    ("S_TOUCHES(geometry, POLYGON((116.25 39.70, 116.30 39.70, 116.30 39.75, 116.25 39.75, "
     "116.25 39.70)))", {"epsilon"}),
    ("S_OVERLAPS(geometry, POLYGON((116.24 39.74, 116.30 39.74, 116.30 39.80, 116.24 39.80, "
     "116.24 39.74)))", {"epsilon"}),
    ("S_INTERSECTS(POINT(116.40 39.90), geometry)", {"alpha"}),
])
def test_spatial(db: psycopg.Connection, cql: str, expected: set[str]) -> None:
    assert matching(db, cql) == expected


def _metres_alpha_to_beta() -> float:
    """Geodesic distance alpha-beta on GRS80 (EPSG:4490's ellipsoid), computed by pyproj."""
    _, _, metres = Geod(ellps="GRS80").inv(116.40, 39.90, 116.41, 39.90)
    return float(metres)


def test_dwithin_is_metres_on_the_ellipsoid(db: psycopg.Connection) -> None:
    metres = _metres_alpha_to_beta()
    assert 850 < metres < 860
    near = f"S_DWITHIN(geometry, POINT(116.40 39.90), {metres - 0.5:.3f}, meters)"
    far = f"S_DWITHIN(geometry, POINT(116.40 39.90), {metres + 0.5:.3f}, meters)"
    assert matching(db, near) == {"alpha"}
    assert matching(db, far) == {"alpha", "beta"}
    in_km = f"S_DWITHIN(geometry, POINT(116.40 39.90), {(metres + 0.5) / 1000:.6f}, 'km')"
    assert matching(db, in_km) == {"alpha", "beta"}


def test_dwithin_between_a_line_and_a_property(db: psycopg.Connection) -> None:
    # delta's line ends at (116.35, 39.85); alpha is ~6.9 km away from it.
    line_end = Geod(ellps="GRS80").inv(116.35, 39.85, 116.40, 39.90)[2]
    assert matching(db, f"S_DWITHIN(geometry, POINT(116.35 39.85), {line_end - 1:.1f})") \
        == {"delta"}
    assert "alpha" in matching(db, f"S_DWITHIN(geometry, POINT(116.35 39.85), {line_end + 1:.1f})")


def test_filter_crs_epsg_4326_is_latitude_first(db: psycopg.Connection) -> None:
    lat_lon = "S_INTERSECTS(geometry, POINT(39.90 116.40))"
    assert matching(db, lat_lon, lat_first_filter=True) == {"alpha"}
    assert matching(db, lat_lon) == set()
    box = "S_WITHIN(geometry, BBOX(39.89, 116.39, 39.91, 116.42))"
    assert matching(db, box, lat_first_filter=True) == {"alpha", "beta"}
    json_point = {"op": "s_intersects", "args": [
        {"property": "geometry"}, {"type": "Point", "coordinates": [39.90, 116.41]}]}
    assert matching(db, json_point, lat_first_filter=True) == {"beta"}


def test_answers_do_not_depend_on_the_storage_crs(db: psycopg.Connection) -> None:
    metres = _metres_alpha_to_beta()
    filters = {
        f"S_INTERSECTS(geometry, {AROUND_ALPHA})": {"alpha"},
        "BBOX(geometry, 116.39, 39.89, 116.42, 39.91)": {"alpha", "beta"},
        "S_INTERSECTS(geometry, BBOX(116.24, 39.74, 116.29, 39.79))": {"epsilon"},
        f"S_DWITHIN(geometry, POINT(116.40 39.90), {metres - 0.5:.3f}, meters)": {"alpha"},
        f"S_DWITHIN(geometry, POINT(116.40 39.90), {metres + 0.5:.3f}, meters)":
            {"alpha", "beta"},
    }
    for cql, expected in filters.items():
        got = matching(db, cql, table="t_cql_3857", columns={"name": "text"},
                       storage_srid=3857)
        assert got == expected, cql


def test_filter_literal_in_another_crs(db: psycopg.Connection) -> None:
    # alpha in Web Mercator metres (EPSG:3857), from pyproj, not from the code under test.
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(116.40, 39.90)
    box = f"BBOX(geometry, {x - 1:.3f}, {y - 1:.3f}, {x + 1:.3f}, {y + 1:.3f})"
    assert matching(db, box, filter_srid=3857) == {"alpha"}


# -- CQL2-JSON and languages -------------------------------------------------------------------

def test_json_filters(db: psycopg.Connection) -> None:
    floors = {"op": "=", "args": [{"property": "floors"}, 7]}
    assert matching(db, floors) == {"beta"}
    assert matching(db, json.dumps(floors), "cql2-json") == {"beta"}
    assert matching(db, json.dumps(floors), "cql-json") == {"beta"}
    during = {"op": "t_during", "args": [
        {"interval": [{"property": "reported"}, {"property": "closed"}]},
        {"interval": ["2024-04-01", ".."]}]}
    assert matching(db, during) == {"alpha", "gamma", "epsilon"}
    box = {"op": "s_within", "args": [{"property": "geometry"},
                                      {"bbox": [116.39, 39.89, 116.42, 39.91]}]}
    assert matching(db, box) == {"alpha", "beta"}
    assert matching(db, "floors = 7", "cql-text") == {"beta"}
    assert matching(db, "  {\"op\": \"isNull\", \"args\": [{\"property\": \"colour\"}]}") \
        == {"delta"}


def test_accenti_without_unaccent_is_a_clear_error() -> None:
    message = cql_error("ACCENTI(note) = ACCENTI('cafe corner')", unaccent=lambda: None)
    assert "ACCENTI" in message and "CREATE EXTENSION unaccent" in message


def test_accenti_with_unaccent(db: psycopg.Connection) -> None:
    # unaccent is a trusted extension: the database's owner may create it.
    with db.transaction():
        db.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        schema = db.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                            "WHERE extname = 'unaccent'").fetchone()[0]  # type: ignore[index]
        found = matching(db, "ACCENTI(note) = ACCENTI('cafe corner')",
                         unaccent=lambda: schema)
        folded = matching(db, "ACCENTI(CASEI(note)) LIKE ACCENTI(CASEI('CAFÉ%'))",
                          unaccent=lambda: schema)
        raise psycopg.Rollback()
    assert found == {"alpha"}
    assert folded == {"alpha"}


def test_unaccent_lookup(db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    from gridgeo.db import pool
    from gridgeo.provider import cql

    @contextmanager
    def this_connection() -> Iterator[psycopg.Connection]:
        yield db

    monkeypatch.setattr(pool, "connection", this_connection)
    monkeypatch.setattr(cql, "_unaccent_schema", [])
    expected = hand_schema(db)
    assert cql.installed_unaccent() == expected
    assert cql.installed_unaccent() == expected  # cached


def hand_schema(db: psycopg.Connection) -> str | None:
    row = db.execute("SELECT extnamespace::regnamespace::text FROM pg_extension "
                     "WHERE extname = 'unaccent'").fetchone()
    return row[0] if row else None


def test_values_are_never_spliced_into_sql(db: psycopg.Connection) -> None:
    sneaky = "x' OR 1=1 --"
    condition, params = compile_filter(f"colour = '{sneaky.replace(chr(39), chr(39) * 2)}'",
                                       None, COLUMNS, "geom")
    assert sneaky in params
    assert "1=1" not in condition.as_string(db)
    assert matching(db, f"colour = '{sneaky.replace(chr(39), chr(39) * 2)}'") == set()


# -- errors ------------------------------------------------------------------------------------

def test_unknown_property_names_it_and_the_queryables() -> None:
    message = cql_error("colr = 'red'")
    assert message.startswith("unknown property 'colr' in filter; queryable properties are: ")
    assert "colour" in message and "floors" in message


def test_personal_properties_are_unknown() -> None:
    public = {k: v for k, v in COLUMNS.items() if k != "note"}
    with pytest.raises(CqlError, match="unknown property 'note'"):
        compile_filter("note LIKE 'a%'", None, public, "geom")


@pytest.mark.parametrize(("cql", "words"), [
    ("floors = 'abc'", ["property 'floors'", "number", "'abc'"]),
    ("floors LIKE '1%'", ["LIKE", "property 'floors'", "number"]),
    ("colour > 5", ["property 'colour'", "text", "5"]),
    ("built = 'yesterday'", ["property 'built'", "date"]),
    ("active = 3", ["property 'active'", "boolean"]),
    ("floors IN (1, 'two')", ["property 'floors'", "'two'"]),
    ("colour BETWEEN 'a' AND 'c'", ["BETWEEN", "property 'colour'"]),
    ("info = 'x'", ["property 'info'", "IS NULL"]),
    ("geometry = POINT(1 2)", ["S_EQUALS"]),
    ("T_AFTER(floors, DATE('2020-01-01'))", ["T_AFTER", "property 'floors'"]),
    ("S_INTERSECTS(colour, POINT(1 2))", ["S_INTERSECTS", "property 'colour'"]),
    ("floors + 'a' > 1", ["the text 'a'"]),
    ("CASEI(floors) = 'a'", ["CASEI", "property 'floors'"]),
    ("built = DATE('2020-13-01')", ["'2020-13-01'", "DATE('YYYY-MM-DD')"]),
    ("reported > TIMESTAMP('noon')", ["'noon'", "TIMESTAMP("]),
    ("floors", ["condition", "property 'floors'"]),
    ("active < TRUE", ["booleans"]),
])
def test_type_mismatches(cql: str, words: list[str]) -> None:
    message = cql_error(cql)
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize(("cql", "lang", "words"), [
    ("floors = ", None, ["line 1, column 10", "expected"]),
    ("floors = 1 AND", None, ["line 1, column 15"]),
    ("floors = 1 )", None, ["column 12", "near ')'"]),
    ("floors = 1\nAND AND colour = 'x'", None, ["line 2, column"]),
    ('{"op": "=", "args": [', None, ["not valid JSON", "line 1"]),
    ({"op": "=", "args": [{"property": "floors"}]}, None, ["= takes 2 arguments"]),
    ({"op": "=", "arguments": []}, None, ["'args' list"]),
    ({"eq": [{"property": "floors"}, 1]}, None, ["not CQL2"]),
    ({"op": "and", "args": [True]}, None, ["AND needs at least two"]),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 0)))", None, ["Polygon", "not a valid geometry"]),
    ("S_WITHIN(geometry, BBOX(2, 2, 1, 1))", None, ["BBOX", "minimum above"]),
    ("S_DWITHIN(geometry, POINT(1 2), -5)", None, ["S_DWITHIN", "non-negative"]),
    ("S_DWITHIN(geometry, POINT(1 2), 5, furlongs)", None, ["furlongs"]),
    ("Foo(geometry) = TRUE", None, ["unknown function 'Foo'"]),
    ("A_CONTAINS(colour, ('a'))", None, ["A_CONTAINS", "not supported"]),
    ("floors = 1", "ecql", ["unsupported filter-lang 'ecql'"]),
    ({"op": "=", "args": [{"property": "floors"}, 1]}, "cql2-text", ["cql2-text", "string"]),
    ("   ", None, ["empty"]),
    ("colour = NULL", None, ["IS NULL"]),
    ("floors = 1e999", None, ["too large"]),
    ("S_INTERSECTS(geometry, ENVELOPE(1, 2, 3, 4))", None, ["unknown function 'ENVELOPE'"]),
    ("S_INTERSECTS(geometry, SRID=4326;POINT(1 2))", None, ["line 1, column 33"]),
])
def test_malformed_filters(cql: str | dict[str, Any], lang: str | None,
                           words: list[str]) -> None:
    message = cql_error(cql, lang)
    for word in words:
        assert word in message, (word, message)


def _nested_not(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"op": "=", "args": [{"property": "floors"}, 1]}
    for _ in range(levels - 1):
        tree = {"op": "not", "args": [tree]}
    return tree


def test_depth_limit(db: psycopg.Connection) -> None:
    # 30 levels: floors = 1 under 29 NOTs, i.e. NOT (floors = 1).
    assert matching(db, _nested_not(MAX_DEPTH)) == {"alpha", "beta", "gamma", "epsilon"}
    assert "too complex" in cql_error(_nested_not(MAX_DEPTH + 1))
    assert "too complex" in cql_error(json.dumps(_nested_not(MAX_DEPTH + 1)))
    text = "(" * 31 + "floors = 1" + ")" * 31
    assert "too complex" in cql_error(text)
    assert "too complex" in cql_error("NOT " * 40 + "floors = 1")


def test_size_limits() -> None:
    many = ", ".join(str(n) for n in range(250))
    assert "more than 200 terms" in cql_error(f"floors IN ({many})")
    long_text = "colour = '" + "x" * MAX_LENGTH + "'"
    message = cql_error(long_text)
    assert message.startswith("the filter is too complex: ") and "20,000" in message
    assert "too complex" in cql_error({"op": "=", "args": [{"property": "colour"},
                                                           "x" * MAX_LENGTH]})


@pytest.mark.parametrize("cql", [
    "=".join(["1"] * 9_999),  # 19,997 characters of chained comparisons
    "floors = " + "-" * 19_000 + "height",
    "floors = " + "+".join(["1"] * 9_990),
    "NOT (" * 3_000 + "floors = 1" + ")" * 3_000,
])
def test_deep_text_is_refused_without_crashing(cql: str) -> None:
    """Nesting this deep overflowed the parser's stack and killed the process before."""
    assert len(cql) <= MAX_LENGTH
    assert "too complex" in cql_error(cql)


# -- the standard's own examples -----------------------------------------------------------------
# Every example is compiled from its text and its JSON form and run against a table that has a
# column for each property the examples name; both forms must select the same rows, and where
# the rows were worked out by hand they must be those.

EXAMPLE_COLUMNS = {
    "windSpeed": "double precision", "city": "text", "updated": "date", "name": "text",
    "depth": "double precision", "cityName": "text", "category": "integer",
    "road_class": "text", "etat_vol": "text", "event_time": "timestamp with time zone",
    "touchdown": "timestamp with time zone", "liftOff": "timestamp with time zone",
    "road": "geometry", "landsat:scene_id": "text", "eo:instrument": "text",
    "landsat:wrs_path": "text", "eo:cloud_cover": "double precision",
    "landsat:wrs_row": "integer", "footprint": "geometry", "beamMode": "text",
    "swathDirection": "text", "polarization": "text", "floors": "integer", "taxes": "numeric",
    "owner": "text", "swimming_pool": "boolean", "material": "text", "built": "date",
    "starts_at": "timestamp with time zone", "ends_at": "timestamp with time zone",
    "location": "geometry", "geophys:SURVEY_NAME": "text", "id": "uuid",
    "value": "double precision", "updated_at": "timestamp with time zone", "foo": "integer",
    "bar": "double precision", "x": "double precision", "balance": "numeric",
    "vehicle_height": "double precision", "bridge_clearance": "double precision",
    "geom": "geometry",
}
# The standard uses landsat:wrs_path as text in one example and as a number in others, and
# "value" as a number and as text: those examples run against a table typed their way.
ALT_COLUMNS = {**EXAMPLE_COLUMNS, "landsat:wrs_path": "integer", "value": "text"}
ALT_EXAMPLES = {"example04", "example06a", "example06b", "example40", "example40-alt01"}
EXAMPLE_ROWS: list[dict[str, Any]] = [
    {"key": "r1", "city": "Toronto", "name": "Smith", "depth": 120, "cityName": "Tokyo",
     "category": 5, "road_class": "STRAßE", "etat_vol": "débarquer",
     "touchdown": "1969-07-20T20:17:40Z", "liftOff": "1969-07-21T17:54:00Z",
     "landsat:scene_id": "LC82030282019133LGN00", "eo:instrument": "OLI_TIRS",
     "landsat:wrs_path": "153", "eo:cloud_cover": 0.1, "landsat:wrs_row": 28, "floors": 6,
     "taxes": 400, "owner": "Mike Jones", "swimming_pool": True, "material": "brick",
     "built": "2014-01-01", "starts_at": "2017-06-10T08:00:00Z",
     "ends_at": "2017-06-11T09:00:00Z", "geophys:SURVEY_NAME": "CALCUTTA 1990",
     "id": "fa7e1920-9107-422d-a3db-c468cbc5d6df", "value": 15,
     "updated_at": "2011-01-01T00:00:00Z", "foo": 5, "balance": 200, "vehicle_height": 4,
     "bridge_clearance": 4.5, "location": "POINT(-117.95 33.9)", "geom": "POINT(-117.95 33.9)"},
    {"key": "r2", "city": "Frankfurt", "name": "Jones", "depth": 50, "cityName": "Berlin",
     "category": 2, "road_class": "Οδος", "etat_vol": "arrivé", "floors": 3,
     "owner": "somebody else", "swimming_pool": False, "material": "wood",
     "built": "2016-01-01", "value": 25, "foo": 2, "geom": "POINT(10 50)"},
    {"key": "r3"},
]
KNOWN_EXAMPLE_ROWS = {
    "clause6_02a": {"r1"}, "clause6_02c": {"r1"}, "clause7_01": {"r1"}, "clause7_02": {"r1"},
    "clause7_03a": {"r1"}, "clause7_03b": {"r1"}, "clause7_04": {"r1", "r2"},
    "clause7_05": {"r1"}, "clause7_13": {"r1"}, "clause7_19": {"r1"}, "example01": {"r1"},
    "example02": {"r1"}, "example03": {"r1"}, "example06a": {"r1"}, "example09": {"r1"},
    "example13": {"r2"}, "example14": {"r1"}, "example20": {"r1"}, "example21": {"r1", "r2"},
    "example22": {"r1"}, "example23": {"r1"}, "example25": {"r1"}, "example28": {"r1"},
    "example29": {"r1"}, "example37": {"r1"}, "example40": {"r2"}, "example41": {"r3"},
    "example53": {"r1"}, "example71": {"r2"}, "example72": {"r2"},
}
UNSUPPORTED_EXAMPLES = {
    "clause6_01": "unknown function 'avg'", "clause6_02b": "unknown function 'avg'",
    "clause7_15": "A_CONTAINS", "clause7_18": "unknown function 'Buffer'",
    "example68": "unknown function 'Foo'", "example69": "unknown function 'Bar'",
    "example79": "A_CONTAINEDBY", "example80": "A_CONTAINS", "example81": "A_EQUALS",
    "example82": "A_OVERLAPS",
}


def _create_example_tables(conn: psycopg.Connection) -> None:
    for table, columns in (("t_examples", EXAMPLE_COLUMNS), ("t_examples_alt", ALT_COLUMNS)):
        definitions = [sql.SQL("{} {}").format(
            sql.Identifier(name),
            sql.SQL("geometry(Geometry, 4490)" if pg_type == "geometry" else pg_type))
            for name, pg_type in columns.items()]
        conn.execute(sql.SQL("CREATE TEMP TABLE {} (key text, {})").format(
            sql.Identifier(table), sql.SQL(", ").join(definitions)))
        for row in EXAMPLE_ROWS:
            _insert_example_row(conn, table, columns, row)
    conn.execute("""UPDATE t_examples_alt SET "landsat:wrs_path" = 203, "eo:cloud_cover" = 0.15,
                    value = 'a' WHERE key = 'r1'""")
    conn.execute("UPDATE t_examples_alt SET value = 'z' WHERE key = 'r2'")


def _insert_example_row(conn: psycopg.Connection, table: str, columns: dict[str, str],
                        row: dict[str, Any]) -> None:
    names = [name for name in row if name == "key" or name in columns]
    values = [sql.SQL("ST_GeomFromText(%s, 4490)") if columns.get(name) == "geometry"
              else sql.SQL("%s") for name in names]
    conn.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(values)), [row[name] for name in names])


def example_rows(db: psycopg.Connection, name: str, cql: str, lang: str) -> set[str]:
    table, columns = ("t_examples_alt", ALT_COLUMNS) if name in ALT_EXAMPLES \
        else ("t_examples", EXAMPLE_COLUMNS)
    if "ACCENTI" not in cql.upper():
        return matching(db, cql, lang, table=table, columns=columns, key="key")
    with db.transaction():  # unaccent exists only inside this savepoint
        db.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        schema = hand_schema(db)
        rows = matching(db, cql, lang, table=table, columns=columns, key="key",
                        unaccent=lambda: schema)
        raise psycopg.Rollback()
    return rows


# The CQL2 standard's example filters (OGC 21-065r2, "Common Query Language (CQL2)"), as
# published in opengeospatial/ogcapi-features, cql2/standard/schema/examples (tag cql2-1.0.0),
# Copyright (c) Open Geospatial Consortium, used under the OGC document licence: the text
# form of each, and its JSON form compacted (None for the alternative text spellings).
STANDARD_EXAMPLES: dict[str, tuple[str, str | None]] = {
    'clause6_01': (
        'avg(windSpeed)',
        '{"op":"avg","args":[{"property":"windSpeed"}]}'),
    'clause6_02a': (
        "city='Toronto'",
        '{"op":"=","args":[{"property":"city"},"Toronto"]}'),
    'clause6_02b': (
        'avg(windSpeed) < 4',
        '{"op":"<","args":[{"op":"avg","args":[{"property":"windSpeed"}]},4]}'),
    'clause6_02c': (
        'balance-150.0 > 0',
        '{"op":">","args":[{"op":"-","args":[{"property":"balance"},150.0]},0]}'),
    'clause6_02d': (
        "updated >= date('1970-01-01')",
        '{"op":">=","args":[{"property":"updated"},{"date":"1970-01-01"}]}'),
    'clause6_03': (
        'geometry IS NOT NULL',
        '{"op":"not","args":[{"op":"isNull","args":[{"property":"geometry"}]}]}'),
    'clause7_01': (
        "name LIKE 'Smith%'",
        '{"op":"like","args":[{"property":"name"},"Smith%"]}'),
    'clause7_02': (
        'depth BETWEEN 100.0 and 150.0',
        '{"op":"between","args":[{"property":"depth"},100.0,150.0]}'),
    'clause7_03a': (
        "cityName IN ('Toronto','Frankfurt','Tokyo','New York')",
        '{"op":"in","args":[{"property":"cityName"},["Toronto","Frankfurt","Tokyo","New '
        'York"]]}'),
    'clause7_03b': (
        'category NOT IN (1,2,3,4)',
        '{"op":"not","args":[{"op":"in","args":[{"property":"category"},[1,2,3,4]]}]}'),
    'clause7_04': (
        "CASEI(road_class) IN (CASEI('Οδος'),CASEI('Straße'))",
        '{"op":"in","args":[{"op":"casei","args":[{"property":"road_class"}]},[{"op":"casei",'
        '"args":["Οδος"]},{"op":"casei","args":["Straße"]}]]}'),
    'clause7_05': (
        "ACCENTI(etat_vol) = ACCENTI('débárquér')",
        '{"op":"=","args":[{"op":"accenti","args":[{"property":"etat_vol"}]},{"op":"accenti",'
        '"args":["débárquér"]}]}'),
    'clause7_07': (
        'S_INTERSECTS(geometry,POINT(36.319836 32.288087))',
        '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[36'
        '.319836,32.288087]}]}'),
    'clause7_10': (
        'S_CROSSES(road,POLYGON((43.7286 -79.2986, 43.7311 -79.2996, 43.7323 -79.2972,'
        '\n                        43.7326 -79.2971, 43.7350 -79.2981, 43.7350 -79.2982,'
        '\n                        43.7352 -79.2982, 43.7357 -79.2956, 43.7337 -79.2948,'
        '\n                        43.7343 -79.2933, 43.7339 -79.2923, 43.7327 -79.2947,'
        '\n                        43.7320 -79.2942, 43.7322 -79.2937, 43.7306 -79.2930,'
        '\n                        43.7303 -79.2930, 43.7299 -79.2928, 43.7286 -79.2986)))',
        '{"op":"s_crosses","args":[{"property":"road"},{"type":"Polygon","coordinates":[[[43.72'
        '86,-79.2986],[43.7311,-79.2996],[43.7323,-79.2972],[43.7326,-79.2971],[43.735,'
        '-79.2981],[43.735,-79.2982],[43.7352,-79.2982],[43.7357,-79.2956],[43.7337,-79.2948],'
        '[43.7343,-79.2933],[43.7339,-79.2923],[43.7327,-79.2947],[43.732,-79.2942],[43.7322,'
        '-79.2937],[43.7306,-79.293],[43.7303,-79.293],[43.7299,-79.2928],[43.7286,-79.2986]]]}'
        ']}'),
    'clause7_12': (
        "T_INTERSECTS(event_time, INTERVAL('1969-07-16T05:32:00Z', '1969-07-24T16:50:35Z'))",
        '{"op":"t_intersects","args":[{"property":"event_time"},{"interval":["1969-07-16T05:32:'
        '00Z","1969-07-24T16:50:35Z"]}]}'),
    'clause7_13': (
        "T_DURING(INTERVAL(touchdown, liftOff), INTERVAL('1969-07-16T13:32:00Z', '1969-07-24T16"
        ":50:35Z'))",
        '{"op":"t_during","args":[{"interval":[{"property":"touchdown"},{"property":"liftOff"}]'
        '},{"interval":["1969-07-16T13:32:00Z","1969-07-24T16:50:35Z"]}]}'),
    'clause7_15': (
        "A_CONTAINS(layer:ids, ('layers-ca','layers-us'))",
        '{"op":"a_contains","args":[{"property":"layer:ids"},["layers-ca","layers-us"]]}'),
    'clause7_16': (
        'S_CROSSES(LINESTRING(43.72992 -79.2998, 43.73005 -79.2991, 43.73006 -79.2984,'
        '\n                     43.73140 -79.2956, 43.73259 -79.2950, 43.73266 -79.2945,'
        '\n                     43.73320 -79.2936, 43.73378 -79.2936, 43.73486 -79.2917),'
        '\n        POLYGON((43.7286 -79.2986, 43.7311 -79.2996, 43.7323 -79.2972, 43.7326 '
        '-79.2971,\n                 43.7350 -79.2981, 43.7350 -79.2982, 43.7352 -79.2982,'
        ' 43.7357 -79.2956,\n                 43.7337 -79.2948, 43.7343 -79.2933, 43.7339 '
        '-79.2923, 43.7327 -79.2947,\n                 43.7320 -79.2942, 43.7322 -79.2937,'
        ' 43.7306 -79.2930, 43.7303 -79.2930,\n                 43.7299 -79.2928, 43.7286 '
        '-79.2986)))',
        '{"op":"s_crosses","args":[{"type":"LineString","coordinates":[[43.72992,-79.2998],'
        '[43.73005,-79.2991],[43.73006,-79.2984],[43.7314,-79.2956],[43.73259,-79.295],'
        '[43.73266,-79.2945],[43.7332,-79.2936],[43.73378,-79.2936],[43.73486,-79.2917]]},'
        '{"type":"Polygon","coordinates":[[[43.7286,-79.2986],[43.7311,-79.2996],[43.7323,'
        '-79.2972],[43.7326,-79.2971],[43.735,-79.2981],[43.735,-79.2982],[43.7352,-79.2982],'
        '[43.7357,-79.2956],[43.7337,-79.2948],[43.7343,-79.2933],[43.7339,-79.2923],'
        '[43.7327,-79.2947],[43.732,-79.2942],[43.7322,-79.2937],[43.7306,-79.293],[43.7303,'
        '-79.293],[43.7299,-79.2928],[43.7286,-79.2986]]]}]}'),
    'clause7_17': (
        "T_DURING(INTERVAL('1969-07-20T20:17:40Z', '1969-07-21T17:54:00Z'), INTERVAL('1969-07-1"
        "6T13:32:00Z', '1969-07-24T16:50:35Z'))",
        '{"op":"t_during","args":[{"interval":["1969-07-20T20:17:40Z","1969-07-21T17:54:00Z"]},'
        '{"interval":["1969-07-16T13:32:00Z","1969-07-24T16:50:35Z"]}]}'),
    'clause7_18': (
        "S_WITHIN(road,Buffer(geometry,10,'m'))",
        '{"op":"s_within","args":[{"property":"road"},{"op":"Buffer","args":[{"property":"geome'
        'try"},10,"m"]}]}'),
    'clause7_19': (
        'vehicle_height > (bridge_clearance-1)',
        '{"op":">","args":[{"property":"vehicle_height"},{"op":"-","args":[{"property":"bridge_'
        'clearance"},1]}]}'),
    'example01': (
        "landsat:scene_id = 'LC82030282019133LGN00'",
        '{"op":"=","args":[{"property":"landsat:scene_id"},"LC82030282019133LGN00"]}'),
    'example02': (
        "eo:instrument LIKE 'OLI%'",
        '{"op":"like","args":[{"property":"eo:instrument"},"OLI%"]}'),
    'example03': (
        "landsat:wrs_path IN ('153','154','15X')",
        '{"op":"in","args":[{"property":"landsat:wrs_path"},["153","154","15X"]]}'),
    'example04': (
        'eo:cloud_cover < 0.1 AND landsat:wrs_row=28 AND landsat:wrs_path=203',
        '{"op":"and","args":[{"op":"<","args":[{"property":"eo:cloud_cover"},0.1]},{"op":"=",'
        '"args":[{"property":"landsat:wrs_row"},28]},{"op":"=","args":[{"property":"landsat:wrs'
        '_path"},203]}]}'),
    'example05a': (
        'eo:cloud_cover=0.1 OR eo:cloud_cover=0.2',
        '{"op":"or","args":[{"op":"=","args":[{"property":"eo:cloud_cover"},0.1]},{"op":"=",'
        '"args":[{"property":"eo:cloud_cover"},0.2]}]}'),
    'example05b': (
        'eo:cloud_cover IN (0.1,0.2)',
        '{"op":"in","args":[{"property":"eo:cloud_cover"},[0.1,0.2]]}'),
    'example06a': (
        'eo:cloud_cover BETWEEN 0.1 AND 0.2\nAND landsat:wrs_row=28\nAND landsat:wrs_path=203',
        '{"op":"and","args":[{"op":"between","args":[{"property":"eo:cloud_cover"},0.1,'
        '0.2]},{"op":"=","args":[{"property":"landsat:wrs_row"},28]},{"op":"=","args":[{"proper'
        'ty":"landsat:wrs_path"},203]}]}'),
    'example06b': (
        'eo:cloud_cover >= 0.1\nAND eo:cloud_cover <= 0.2\nAND landsat:wrs_row=28\nAND '
        'landsat:wrs_path=203',
        '{"op":"and","args":[{"op":">=","args":[{"property":"eo:cloud_cover"},0.1]},{"op":"<=",'
        '"args":[{"property":"eo:cloud_cover"},0.2]},{"op":"=","args":[{"property":"landsat:wrs'
        '_row"},28]},{"op":"=","args":[{"property":"landsat:wrs_path"},203]}]}'),
    'example07': (
        "eo:instrument LIKE 'OLI%'\n                AND S_INTERSECTS(footprint,POLYGON((43.5845"
        ' -79.5442,\n                                                    43.6079 -79.4893,'
        '\n                                                    43.5677 -79.4632,\n   '
        '                                                 43.6129 -79.3925,\n        '
        '                                            43.6223 -79.3238,\n             '
        '                                       43.6576 -79.3163,\n                  '
        '                                  43.7945 -79.1178,\n                       '
        '                             43.8144 -79.1542,\n                            '
        '                        43.8555 -79.1714,\n                                 '
        '                   43.7509 -79.6390,\n                                      '
        '              43.5845 -79.5442)))',
        '{"op":"and","args":[{"op":"like","args":[{"property":"eo:instrument"},"OLI%"]},'
        '{"op":"s_intersects","args":[{"property":"footprint"},{"type":"Polygon","coordinates":'
        '[[[43.5845,-79.5442],[43.6079,-79.4893],[43.5677,-79.4632],[43.6129,-79.3925],'
        '[43.6223,-79.3238],[43.6576,-79.3163],[43.7945,-79.1178],[43.8144,-79.1542],'
        '[43.8555,-79.1714],[43.7509,-79.639],[43.5845,-79.5442]]]}]}]}'),
    'example08': (
        "beamMode='ScanSAR Narrow'\nAND swathDirection='ascending'\nAND polarization='HH+VV+HV+"
        "VH'\nAND s_intersects(footprint,POLYGON((-77.117938 38.936860,\n            "
        '                        -77.040604 39.995648,\n                             '
        '       -76.910536 38.892912,\n                                    -77.039359 '
        '38.791753,\n                                    -77.047906 38.841462,\n     '
        '                               -77.034183 38.840655,\n                      '
        '              -77.033142 38.857490,\n                                    -77.117938 '
        '38.936860)))',
        '{"op":"and","args":[{"op":"=","args":[{"property":"beamMode"},"ScanSAR Narrow"]},'
        '{"op":"=","args":[{"property":"swathDirection"},"ascending"]},{"op":"=","args":[{"prop'
        'erty":"polarization"},"HH+VV+HV+VH"]},{"op":"s_intersects","args":[{"property":"footpr'
        'int"},{"type":"Polygon","coordinates":[[[-77.117938,38.93686],[-77.040604,39.995648],'
        '[-76.910536,38.892912],[-77.039359,38.791753],[-77.047906,38.841462],[-77.034183,'
        '38.840655],[-77.033142,38.85749],[-77.117938,38.93686]]]}]}]}'),
    'example09': (
        'floors>5',
        '{"op":">","args":[{"property":"floors"},5]}'),
    'example10': (
        'taxes <= 500',
        '{"op":"<=","args":[{"property":"taxes"},500]}'),
    'example11': (
        "owner LIKE '%Jones%'",
        '{"op":"like","args":[{"property":"owner"},"%Jones%"]}'),
    'example12': (
        "owner LIKE 'Mike%'",
        '{"op":"like","args":[{"property":"owner"},"Mike%"]}'),
    'example13': (
        "owner NOT LIKE '%Mike%'",
        '{"op":"not","args":[{"op":"like","args":[{"property":"owner"},"%Mike%"]}]}'),
    'example14': (
        'swimming_pool = true',
        '{"op":"=","args":[{"property":"swimming_pool"},true]}'),
    'example15': (
        'floors>5 AND swimming_pool=true',
        '{"op":"and","args":[{"op":">","args":[{"property":"floors"},5]},{"op":"=","args":[{"pr'
        'operty":"swimming_pool"},true]}]}'),
    'example16': (
        "swimming_pool=true AND (floors>5 \n                    OR  material LIKE 'brick%'\n "
        "                   OR  material LIKE '%brick')",
        '{"op":"and","args":[{"op":"=","args":[{"property":"swimming_pool"},true]},{"op":"or",'
        '"args":[{"op":">","args":[{"property":"floors"},5]},{"op":"like","args":[{"property":"'
        'material"},"brick%"]},{"op":"like","args":[{"property":"material"},"%brick"]}]}]}'),
    'example17': (
        "(floors>5 AND material='brick') OR swimming_pool=true",
        '{"op":"or","args":[{"op":"and","args":[{"op":">","args":[{"property":"floors"},'
        '5]},{"op":"=","args":[{"property":"material"},"brick"]}]},{"op":"=","args":[{"property'
        '":"swimming_pool"},true]}]}'),
    'example18': (
        'NOT (floors<5) OR swimming_pool=true',
        '{"op":"or","args":[{"op":"not","args":[{"op":"<","args":[{"property":"floors"},'
        '5]}]},{"op":"=","args":[{"property":"swimming_pool"},true]}]}'),
    'example19': (
        "(owner LIKE 'mike%' OR owner LIKE 'Mike%') AND floors<4",
        '{"op":"and","args":[{"op":"or","args":[{"op":"like","args":[{"property":"owner"},'
        '"mike%"]},{"op":"like","args":[{"property":"owner"},"Mike%"]}]},{"op":"<","args":[{"pr'
        'operty":"floors"},4]}]}'),
    'example20': (
        "T_BEFORE(built, DATE('2015-01-01'))",
        '{"op":"t_before","args":[{"property":"built"},{"date":"2015-01-01"}]}'),
    'example21': (
        "T_AFTER(built,DATE('2012-06-05'))",
        '{"op":"t_after","args":[{"property":"built"},{"date":"2012-06-05"}]}'),
    'example22': (
        "T_DURING(INTERVAL(starts_at, ends_at), INTERVAL('2017-06-10T07:30:00Z', '2017-06-11T10"
        ":30:00Z'))",
        '{"op":"t_during","args":[{"interval":[{"property":"starts_at"},{"property":"ends_at"}]'
        '},{"interval":["2017-06-10T07:30:00Z","2017-06-11T10:30:00Z"]}]}'),
    'example23': (
        'S_WITHIN(location,BBOX(-118,33.8,-117.9,34))',
        '{"op":"s_within","args":[{"property":"location"},{"bbox":[-118,33.8,-117.9,34]}]}'),
    'example24': (
        'S_INTERSECTS(geometry,POLYGON((-10.0 -10.0,10.0 -10.0,10.0 10.0,-10.0 -10.0)))',
        '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":['
        '[[-10,-10],[10,-10],[10,10],[-10,-10]]]}]}'),
    'example25': (
        'floors>5 AND S_WITHIN(geometry,BBOX(-118,33.8,-117.9,34))',
        '{"op":"and","args":[{"op":">","args":[{"property":"floors"},5]},{"op":"s_within",'
        '"args":[{"property":"geometry"},{"bbox":[-118,33.8,-117.9,34]}]}]}'),
    'example26': (
        "CASEI(road_class) IN (CASEI('Οδος'),CASEI('Straße'))",
        '{"op":"in","args":[{"op":"casei","args":[{"property":"road_class"}]},[{"op":"casei",'
        '"args":["Οδος"]},{"op":"casei","args":["Straße"]}]]}'),
    'example27': (
        "ACCENTI(etat_vol) = ACCENTI('débárquér')",
        '{"op":"=","args":[{"op":"accenti","args":[{"property":"etat_vol"}]},{"op":"accenti",'
        '"args":["débárquér"]}]}'),
    'example28': (
        "CASEI(geophys:SURVEY_NAME) LIKE CASEI('%calcutta%')",
        '{"op":"like","args":[{"op":"casei","args":[{"property":"geophys:SURVEY_NAME"}]},'
        '{"op":"casei","args":["%calcutta%"]}]}'),
    'example29': (
        '"id" = \'fa7e1920-9107-422d-a3db-c468cbc5d6df\'',
        '{"op":"=","args":[{"property":"id"},"fa7e1920-9107-422d-a3db-c468cbc5d6df"]}'),
    'example30': (
        '"id" <> \'fa7e1920-9107-422d-a3db-c468cbc5d6df\'',
        '{"op":"<>","args":[{"property":"id"},"fa7e1920-9107-422d-a3db-c468cbc5d6df"]}'),
    'example31': (
        '"value" < 10',
        '{"op":"<","args":[{"property":"value"},10]}'),
    'example32': (
        '"value" > 10',
        '{"op":">","args":[{"property":"value"},10]}'),
    'example33': (
        '"value" <= 10',
        '{"op":"<=","args":[{"property":"value"},10]}'),
    'example34': (
        '"value" >= 10',
        '{"op":">=","args":[{"property":"value"},10]}'),
    'example35': (
        '"name" LIKE \'foo%\'',
        '{"op":"like","args":[{"property":"name"},"foo%"]}'),
    'example36-alt01': (
        '"name" NOT LIKE \'foo%\'',
        None),
    'example36': (
        'NOT "name" LIKE \'foo%\'',
        '{"op":"not","args":[{"op":"like","args":[{"property":"name"},"foo%"]}]}'),
    'example37': (
        '"value" BETWEEN 10 AND 20',
        '{"op":"between","args":[{"property":"value"},10,20]}'),
    'example38-alt01': (
        '"value" NOT BETWEEN 10 AND 20',
        None),
    'example38': (
        'NOT "value" BETWEEN 10 AND 20',
        '{"op":"not","args":[{"op":"between","args":[{"property":"value"},10,20]}]}'),
    'example39': (
        '"value" IN (1.0, 2.0, 3.0)',
        '{"op":"in","args":[{"property":"value"},[1.0,2.0,3.0]]}'),
    'example40-alt01': (
        '"value" NOT IN (\'a\', \'b\', \'c\')',
        None),
    'example40': (
        'NOT "value" IN (\'a\', \'b\', \'c\')',
        '{"op":"not","args":[{"op":"in","args":[{"property":"value"},["a","b","c"]]}]}'),
    'example41': (
        '"value" IS NULL',
        '{"op":"isNull","args":[{"property":"value"}]}'),
    'example42-alt01': (
        '"value" IS NOT NULL',
        None),
    'example42': (
        'NOT "value" IS NULL',
        '{"op":"not","args":[{"op":"isNull","args":[{"property":"value"}]}]}'),
    'example43-alt01': (
        '"name" NOT LIKE \'foo%\' AND "value" > 10',
        None),
    'example43': (
        '(NOT "name" LIKE \'foo%\' AND "value" > 10)',
        '{"op":"and","args":[{"op":"not","args":[{"op":"like","args":[{"property":"name"},'
        '"foo%"]}]},{"op":">","args":[{"property":"value"},10]}]}'),
    'example44-alt01': (
        '"value" IS NULL OR "value" BETWEEN 10 AND 20',
        None),
    'example44': (
        '("value" IS NULL OR "value" BETWEEN 10 AND 20)',
        '{"op":"or","args":[{"op":"isNull","args":[{"property":"value"}]},{"op":"between",'
        '"args":[{"property":"value"},10,20]}]}'),
    'example45': (
        'S_INTERSECTS("geometry", BBOX(-128.098193, -1.1, -99999.0, 180.0, 90.0, 100000.0))',
        '{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[-128.098193,-1.1,'
        '-99999.0,180.0,90.0,100000.0]}]}'),
    'example46-alt01': (
        'S_EQUALS(\n    POLYGON (\n        (-0.333333 89.0, -102.723546 -0.5, -179.0 '
        '-89.0, -1.9 89.0, -0.0 89.0, 2.00001 -1.9, -0.333333 89.0)\n    ),\n    "geometry"\n)',
        None),
    'example46': (
        'S_EQUALS(POLYGON ((-0.333333 89.0, -102.723546 -0.5, -179.0 -89.0, -1.9 89.0,'
        ' -0.0 89.0, 2.00001 -1.9, -0.333333 89.0)), "geometry")',
        '{"op":"s_equals","args":[{"type":"Polygon","coordinates":[[[-0.333333,89.0],'
        '[-102.723546,-0.5],[-179.0,-89.0],[-1.9,89.0],[-0.0,89.0],[2.00001,-1.9],[-0.333333,'
        '89.0]]]},{"property":"geometry"}]}'),
    'example47': (
        'S_DISJOINT("geometry", MULTIPOLYGON (((144.022387 45.176126, -1.1 0.0, 180.0 '
        '47.808086, 144.022387 45.176126))))',
        '{"op":"s_disjoint","args":[{"property":"geometry"},{"type":"MultiPolygon","coordinates'
        '":[[[[144.022387,45.176126],[-1.1,0.0],[180.0,47.808086],[144.022387,45.176126]]]]}]}'),
    'example48': (
        'S_TOUCHES("geometry", MULTILINESTRING ((-1.9 -0.99999, 75.292574 1.5, -0.5 -4.016458,'
        ' -31.708594 -74.743801, 179.0 -90.0),(-1.9 -1.1, 1.5 8.547371)))',
        '{"op":"s_touches","args":[{"property":"geometry"},{"type":"MultiLineString",'
        '"coordinates":[[[-1.9,-0.99999],[75.292574,1.5],[-0.5,-4.016458],[-31.708594,'
        '-74.743801],[179.0,-90.0]],[[-1.9,-1.1],[1.5,8.547371]]]}]}'),
    'example49-alt01': (
        'S_WITHIN(POLYGON ((-49.88024 0.5 -75993.341684, -1.5 -0.99999 -100000.0, 0.0 '
        '0.5 -0.333333, -49.88024 0.5 -75993.341684), (-65.887123 2.00001 -100000.0, '
        '0.333333 -53.017711 -79471.332949, 180.0 0.0 1852.616704, -65.887123 2.00001 '
        '-100000.0)), "geometry")',
        None),
    'example49': (
        'S_WITHIN(POLYGON Z ((-49.88024 0.5 -75993.341684, -1.5 -0.99999 -100000.0, 0.0 '
        '0.5 -0.333333, -49.88024 0.5 -75993.341684), (-65.887123 2.00001 -100000.0, '
        '0.333333 -53.017711 -79471.332949, 180.0 0.0 1852.616704, -65.887123 2.00001 '
        '-100000.0)), "geometry")',
        '{"op":"s_within","args":[{"type":"Polygon","coordinates":[[[-49.88024,0.5,-75993.34168'
        '4],[-1.5,-0.99999,-100000.0],[0.0,0.5,-0.333333],[-49.88024,0.5,-75993.341684]],'
        '[[-65.887123,2.00001,-100000.0],[0.333333,-53.017711,-79471.332949],[180.0,0.0,'
        '1852.616704],[-65.887123,2.00001,-100000.0]]]},{"property":"geometry"}]}'),
    'example50': (
        'S_OVERLAPS("geometry", BBOX(-179.912109, 1.9, 180.0, 16.897016))',
        '{"op":"s_overlaps","args":[{"property":"geometry"},{"bbox":[-179.912109,1.9,'
        '180.0,16.897016]}]}'),
    'example51': (
        'S_CROSSES("geometry", LINESTRING (172.03086 1.5, 1.1 -90.0, -159.757695 0.99999,'
        ' -180.0 0.5, -12.111235 81.336403, -0.5 64.43958, 0.0 81.991815, -155.93831 '
        '90.0))',
        '{"op":"s_crosses","args":[{"property":"geometry"},{"type":"LineString","coordinates":['
        '[172.03086,1.5],[1.1,-90.0],[-159.757695,0.99999],[-180.0,0.5],[-12.111235,81.336403],'
        '[-0.5,64.43958],[0.0,81.991815],[-155.93831,90.0]]}]}'),
    'example52': (
        'S_CONTAINS("geometry", POINT (-3.508362 -1.754181))',
        '{"op":"s_contains","args":[{"property":"geometry"},{"type":"Point","coordinates":[-3.5'
        '08362,-1.754181]}]}'),
    'example53': (
        'T_AFTER("updated_at", DATE(\'2010-02-10\'))',
        '{"op":"t_after","args":[{"property":"updated_at"},{"date":"2010-02-10"}]}'),
    'example54-alt01': (
        "T_BEFORE(updated_at, TIMESTAMP('2012-08-10T05:30:00Z'))",
        None),
    'example54': (
        'T_BEFORE("updated_at", TIMESTAMP(\'2012-08-10T05:30:00.000000Z\'))',
        '{"op":"t_before","args":[{"property":"updated_at"},{"timestamp":"2012-08-10T05:30:00Z"'
        '}]}'),
    'example55-alt01': (
        "T_CONTAINS(INTERVAL('2000-01-01T00:00:00Z', '2005-01-10T01:01:01.393216Z'), "
        'INTERVAL(starts_at, ends_at))',
        None),
    'example55': (
        "T_CONTAINS(INTERVAL('2000-01-01T00:00:00.000000Z', '2005-01-10T01:01:01.393216Z'),"
        ' INTERVAL(starts_at, ends_at))',
        '{"op":"t_contains","args":[{"interval":["2000-01-01T00:00:00Z","2005-01-10T01:01:01.39'
        '3216Z"]},{"interval":[{"property":"starts_at"},{"property":"ends_at"}]}]}'),
    'example56': (
        "T_DISJOINT(INTERVAL('..', '2005-01-10T01:01:01.393216Z'), INTERVAL(starts_at,"
        ' ends_at))',
        '{"op":"t_disjoint","args":[{"interval":["..","2005-01-10T01:01:01.393216Z"]},'
        '{"interval":[{"property":"starts_at"},{"property":"ends_at"}]}]}'),
    'example57': (
        "T_DURING(INTERVAL(starts_at, ends_at), INTERVAL('2005-01-10', '2010-02-10'))",
        '{"op":"t_during","args":[{"interval":[{"property":"starts_at"},{"property":"ends_at"}]'
        '},{"interval":["2005-01-10","2010-02-10"]}]}'),
    'example58': (
        'T_EQUALS("updated_at", DATE(\'1851-04-29\'))',
        '{"op":"t_equals","args":[{"property":"updated_at"},{"date":"1851-04-29"}]}'),
    'example59': (
        "T_FINISHEDBY(INTERVAL(starts_at, ends_at), INTERVAL('1991-10-07T08:21:06.393262Z',"
        " '2010-02-10T05:29:20.073225Z'))",
        '{"op":"t_finishedBy","args":[{"interval":[{"property":"starts_at"},{"property":"ends_a'
        't"}]},{"interval":["1991-10-07T08:21:06.393262Z","2010-02-10T05:29:20.073225Z"]}]}'),
    'example60': (
        "T_FINISHES(INTERVAL(starts_at, ends_at), INTERVAL('1991-10-07', '2010-02-10T05:29:20.0"
        "73225Z'))",
        '{"op":"t_finishes","args":[{"interval":[{"property":"starts_at"},{"property":"ends_at"'
        '}]},{"interval":["1991-10-07","2010-02-10T05:29:20.073225Z"]}]}'),
    'example61': (
        "T_INTERSECTS(INTERVAL(starts_at, ends_at), INTERVAL('1991-10-07T08:21:06.393262Z',"
        " '2010-02-10T05:29:20.073225Z'))",
        '{"op":"t_intersects","args":[{"interval":[{"property":"starts_at"},{"property":"ends_a'
        't"}]},{"interval":["1991-10-07T08:21:06.393262Z","2010-02-10T05:29:20.073225Z"]}]}'),
    'example62': (
        "T_MEETS(INTERVAL('2005-01-10', '2010-02-10'), INTERVAL(starts_at, ends_at))",
        '{"op":"t_meets","args":[{"interval":["2005-01-10","2010-02-10"]},{"interval":[{"proper'
        'ty":"starts_at"},{"property":"ends_at"}]}]}'),
    'example63': (
        "T_METBY(INTERVAL('2010-02-10T05:29:20.073225Z', '2010-10-07'), INTERVAL(starts_at,"
        ' ends_at))',
        '{"op":"t_metBy","args":[{"interval":["2010-02-10T05:29:20.073225Z","2010-10-07"]},'
        '{"interval":[{"property":"starts_at"},{"property":"ends_at"}]}]}'),
    'example64': (
        "T_OVERLAPPEDBY(INTERVAL('1991-10-07T08:21:06.393262Z', '2010-02-10T05:29:20.073225Z'),"
        ' INTERVAL(starts_at, ends_at))',
        '{"op":"t_overlappedBy","args":[{"interval":["1991-10-07T08:21:06.393262Z","2010-02-10T'
        '05:29:20.073225Z"]},{"interval":[{"property":"starts_at"},{"property":"ends_at"}]}]}'),
    'example65': (
        "T_OVERLAPS(INTERVAL(starts_at, ends_at), INTERVAL('1991-10-07T08:21:06.393262Z',"
        " '1992-10-09T08:08:08.393473Z'))",
        '{"op":"t_overlaps","args":[{"interval":[{"property":"starts_at"},{"property":"ends_at"'
        '}]},{"interval":["1991-10-07T08:21:06.393262Z","1992-10-09T08:08:08.393473Z"]}]}'),
    'example66': (
        "T_STARTEDBY(INTERVAL('1991-10-07T08:21:06.393262Z', '2010-02-10T05:29:20.073225Z'),"
        ' INTERVAL(starts_at, ends_at))',
        '{"op":"t_startedBy","args":[{"interval":["1991-10-07T08:21:06.393262Z","2010-02-10T05:'
        '29:20.073225Z"]},{"interval":[{"property":"starts_at"},{"property":"ends_at"}]}]}'),
    'example67': (
        "T_STARTS(INTERVAL(starts_at, ends_at), INTERVAL('1991-10-07T08:21:06.393262Z',"
        " '..'))",
        '{"op":"t_starts","args":[{"interval":[{"property":"starts_at"},{"property":"ends_at"}]'
        '},{"interval":["1991-10-07T08:21:06.393262Z",".."]}]}'),
    'example68': (
        'Foo("geometry") = TRUE',
        '{"op":"=","args":[{"op":"Foo","args":[{"property":"geometry"}]},true]}'),
    'example69': (
        'FALSE <> Bar("geometry", 100, \'a\', \'b\', FALSE)',
        '{"op":"<>","args":[false,{"op":"Bar","args":[{"property":"geometry"},100,"a",'
        '"b",false]}]}'),
    'example70': (
        'ACCENTI("owner") = ACCENTI(\'Beyoncé\')',
        '{"op":"=","args":[{"op":"accenti","args":[{"property":"owner"}]},{"op":"accenti",'
        '"args":["Beyoncé"]}]}'),
    'example71': (
        'CASEI("owner") = CASEI(\'somebody else\')',
        '{"op":"=","args":[{"op":"casei","args":[{"property":"owner"}]},{"op":"casei",'
        '"args":["somebody else"]}]}'),
    'example72': (
        '"value" > ("foo" + 10)',
        '{"op":">","args":[{"property":"value"},{"op":"+","args":[{"property":"foo"},'
        '10]}]}'),
    'example73': (
        '"value" < ("foo" - 10)',
        '{"op":"<","args":[{"property":"value"},{"op":"-","args":[{"property":"foo"},'
        '10]}]}'),
    'example74': (
        '"value" <> (22.1 * "foo")',
        '{"op":"<>","args":[{"property":"value"},{"op":"*","args":[22.1,{"property":"foo"}]}]}'),
    'example75': (
        '"value" = (2 / "foo")',
        '{"op":"=","args":[{"property":"value"},{"op":"/","args":[2,{"property":"foo"}]}]}'),
    'example76': (
        '"value" <= (2 ^ "foo")',
        '{"op":"<=","args":[{"property":"value"},{"op":"^","args":[2,{"property":"foo"}]}]}'),
    'example77': (
        '0 = ("foo" % 2)',
        '{"op":"=","args":[0,{"op":"%","args":[{"property":"foo"},2]}]}'),
    'example78': (
        '1 = ("foo" div 2)',
        '{"op":"=","args":[1,{"op":"div","args":[{"property":"foo"},2]}]}'),
    'example79': (
        'A_CONTAINEDBY("values", (\'a\', \'b\', \'c\'))',
        '{"op":"a_containedBy","args":[{"property":"values"},["a","b","c"]]}'),
    'example80': (
        'A_CONTAINS("values", (\'a\', \'b\', \'c\'))',
        '{"op":"a_contains","args":[{"property":"values"},["a","b","c"]]}'),
    'example81': (
        'A_EQUALS((\'a\', TRUE, 1.0, 8), "values")',
        '{"op":"a_equals","args":[["a",true,1.0,8],{"property":"values"}]}'),
    'example82': (
        'A_OVERLAPS("values", (TIMESTAMP(\'2012-08-10T05:30:00.000000Z\'), DATE(\'2010-02-10\')'
        ', FALSE))',
        '{"op":"a_overlaps","args":[{"property":"values"},[{"timestamp":"2012-08-10T05:30:00Z"}'
        ',{"date":"2010-02-10"},false]]}'),
    'example83': (
        'S_EQUALS(MULTIPOINT ((180.0 -0.5), (179.0 -47.121701), (180.0 -0.0), (33.470475 '
        '-0.99999), (179.0 -15.333062)), "geometry")',
        '{"op":"s_equals","args":[{"type":"MultiPoint","coordinates":[[180.0,-0.5],[179.0,'
        '-47.121701],[180.0,-0.0],[33.470475,-0.99999],[179.0,-15.333062]]},{"property":"geomet'
        'ry"}]}'),
    'example84': (
        'S_EQUALS(GEOMETRYCOLLECTION (POINT (1.9 2.00001), POINT (0.0 -2.00001), MULTILINESTRIN'
        'G ((-2.00001 -0.0, -77.292642 -0.5, -87.515626 -0.0, -180.0 12.502773, 21.204842 '
        '-1.5, -21.878857 -90.0)), POINT (1.9 0.5), LINESTRING (179.0 1.179148, -148.192487 '
        '-65.007816, 0.5 0.333333)), "geometry")',
        '{"op":"s_equals","args":[{"type":"GeometryCollection","geometries":[{"type":"Point",'
        '"coordinates":[1.9,2.00001]},{"type":"Point","coordinates":[0.0,-2.00001]},{"type":"Mu'
        'ltiLineString","coordinates":[[[-2.00001,-0.0],[-77.292642,-0.5],[-87.515626,'
        '-0.0],[-180.0,12.502773],[21.204842,-1.5],[-21.878857,-90.0]]]},{"type":"Point",'
        '"coordinates":[1.9,0.5]},{"type":"LineString","coordinates":[[179.0,1.179148],'
        '[-148.192487,-65.007816],[0.5,0.333333]]}]},{"property":"geometry"}]}'),
    'example85-alt01': (
        'value = - foo * 2.0 + "bar" / 6.1234 - "x" ^ 2.0',
        None),
    'example85': (
        '"value" = ((((-1 * "foo") * 2.0) + ("bar" / 6.1234)) - ("x" ^ 2.0))',
        '{"op":"=","args":[{"property":"value"},{"op":"-","args":[{"op":"+","args":[{"op":"*",'
        '"args":[{"op":"*","args":[-1,{"property":"foo"}]},2.0]},{"op":"/","args":[{"property":'
        '"bar"},6.1234]}]},{"op":"^","args":[{"property":"x"},2.0]}]}]}'),
    'example86': (
        '"name" LIKE CASEI(\'FOO%\')',
        '{"op":"like","args":[{"property":"name"},{"op":"casei","args":["FOO%"]}]}'),
}


@pytest.mark.parametrize("name", sorted(set(STANDARD_EXAMPLES) - set(UNSUPPORTED_EXAMPLES)))
def test_standard_example(db: psycopg.Connection, name: str) -> None:
    text, as_json = STANDARD_EXAMPLES[name]
    by_text = example_rows(db, name, text, "cql2-text")
    if as_json is not None:
        assert example_rows(db, name, as_json, "cql2-json") == by_text
    if name in KNOWN_EXAMPLE_ROWS:
        assert by_text == KNOWN_EXAMPLE_ROWS[name]


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_EXAMPLES))
def test_unsupported_standard_example(name: str) -> None:
    text, as_json = STANDARD_EXAMPLES[name]
    for cql in (text, as_json):
        with pytest.raises(CqlError, match=UNSUPPORTED_EXAMPLES[name]):
            compile_filter(cql or "", None, EXAMPLE_COLUMNS, "geom")


def test_every_standard_example_is_covered() -> None:
    assert len(STANDARD_EXAMPLES) == 120
    assert sum(as_json is not None for _, as_json in STANDARD_EXAMPLES.values()) == 109
    assert set(KNOWN_EXAMPLE_ROWS) <= set(STANDARD_EXAMPLES)
