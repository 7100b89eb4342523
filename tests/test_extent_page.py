"""QGIS's extent page is an unfiltered page plus one probe for rows outside the extent,
through the geometry index (issue 14: within 2x of an unfiltered page). Checked by plan
and by answers, never by time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from gridgeo.provider.columns import never_null
from gridgeo.provider.crs import OutputCrs
from gridgeo.provider.params import build_query
from gridgeo.provider.query import FeatureQuery
from tests.test_client_speed import addresses_info, as_app, plan


def answer(conn: psycopg.Connection, statement: sql.Composed,
           params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    return conn.execute(statement, params, prepare=False).fetchone()


def test_the_probe_reads_no_whole_index_for_a_geometry_that_cannot_be_missing(
        base_url: str, conn: psycopg.Connection) -> None:
    """``geom IS NULL`` has a GiST index read whole (it keeps no summary of nulls): 3.8 ms
    of the probe's 3.9 at 200,000 addresses. A table's NOT NULL makes it needless."""
    info = addresses_info(base_url)
    assert never_null(conn, "addresses", "geom")
    assert not never_null(conn, "addresses_view", "geom")
    query = build_query({"bbox": ",".join(map(str, info.extent))}, info)
    as_app(conn, "anonymous")
    conn.execute("SET LOCAL enable_seqscan = off")
    text = plan(conn, *query.outside_bbox(may_be_null=False))
    assert "Index" in text and "IS NULL" not in text.upper(), text
    assert "IS NULL" in plan(conn, *query.outside_bbox(may_be_null=True)).upper()


def test_a_row_without_geometry_lies_outside_every_bbox(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE gridgeo.extent_probe_test (id integer PRIMARY KEY,"
                 " geom geometry(Point, 4490))")
    conn.execute("INSERT INTO gridgeo.extent_probe_test VALUES"
                 " (1, ST_SetSRID(ST_MakePoint(112.3, 34.1), 4490)), (2, NULL)")
    probe = FeatureQuery(source="extent_probe_test", id_field="id", geometry_column="geom",
                         columns=[], output=OutputCrs(4326, False, 7),
                         bbox=[112.0, 34.0, 113.0, 35.0])
    assert answer(conn, *probe.outside_bbox(may_be_null=True)) == (True,)
    assert answer(conn, *probe.outside_bbox(may_be_null=False)) == (False,)
    conn.execute("DELETE FROM gridgeo.extent_probe_test WHERE geom IS NULL")
    assert answer(conn, *probe.outside_bbox(may_be_null=True)) == (False,)


def test_each_source_keeps_its_tables_not_null_geometry(conn: psycopg.Connection) -> None:
    """The items route reads NOT NULL from a collection's table and trusts it for the
    source it serves (a view): each source must pass its table's geometry on, generalised
    at most (the public incidents' places), never withheld as NULL, for every role."""
    from gridgeo.config import render_config
    from gridgeo.items.respond import collection_info
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.settings import get_settings

    config = render_config(get_settings(), get_plugin_manager())
    checked = set()
    for collection in config["resources"]:
        info = collection_info(config, collection)
        if info is None or not never_null(conn, info.table, info.geometry_column):
            continue
        for roles in ("anonymous", "viewer", "admin"):
            as_app(conn, roles)
            missing = answer(conn, sql.SQL("SELECT count(*) FROM gridgeo.{} WHERE {} IS NULL")
                                .format(sql.Identifier(info.source),
                                        sql.Identifier(info.geometry_column)))
            assert missing == (0,), (collection, roles)
        checked.add(collection)
    assert {"addresses", "greenhouses", "grids", "roads", "incidents", "police_grids"} <= checked
