"""grid-topology on a generated county in PostGIS, over HTTP, checked against PostGIS.

The check under test uses shapely and an edge test; PostGIS computes the expected
gaps and overlaps independently."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import requests

from gridgeo.geometry.synthetic import generate_county
from tests.test_overlap_support import county_database, scratch_name, server_on

EXECUTE = "/processes/grid-topology/execution"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def county_url() -> Iterator[str]:
    with county_database(scratch_name("topology"), generate_county(2000, 20, seed=8)) as url:
        yield url


@pytest.fixture(scope="module")
def server(county_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_on(county_url, tmp_path_factory.mktemp("topology-server")) as url:
        yield url


def check(server: str, **inputs: object) -> requests.Response:
    return requests.post(server + EXECUTE, json={"inputs": inputs}, timeout=120)


def test_a_clean_county_has_no_problem(server: str, county_url: str) -> None:
    response = check(server)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["features"] == [] and body["summary"]["ok"] is True
    with psycopg.connect(county_url) as conn:
        counts: dict[str, int] = dict(conn.execute(
            "SELECT level, count(*) FROM gridgeo.grids GROUP BY level").fetchall())
    assert body["summary"]["grids_checked"] == {**counts, "micro": 0, "dedicated": 0}


def postgis_overlaps(conn: psycopg.Connection) -> dict[tuple[str, str], float]:
    rows = conn.execute(
        "SELECT a.code, b.code, ST_Area(ST_Intersection(ST_Transform(a.geom, 4546),"
        " ST_Transform(b.geom, 4546))) FROM gridgeo.grids a JOIN gridgeo.grids b"
        " ON a.geom && b.geom AND ST_Relate(a.geom, b.geom, 'T********') AND a.code < b.code"
        " WHERE a.level = 'unit' AND b.level = 'unit'").fetchall()
    return {(a, b): area for a, b, area in rows if area >= 1.0}


def postgis_gaps(conn: psycopg.Connection) -> dict[str, float]:
    rows = conn.execute(
        "SELECT v.code, ST_Area(ST_Difference(ST_Transform(v.geom, 4546), ST_Transform("
        " (SELECT ST_Union(u.geom) FROM gridgeo.grids u WHERE u.parent_code = v.code), 4546)))"
        " FROM gridgeo.grids v WHERE v.level = 'village'").fetchall()
    return {code: area for code, area in rows if area >= 1.0}


def test_broken_grids_match_what_postgis_finds(server: str, county_url: str) -> None:
    with psycopg.connect(county_url) as conn:
        deleted, moved = [r[0] for r in conn.execute(
            "SELECT code FROM gridgeo.grids WHERE level = 'unit' ORDER BY code LIMIT 2"
            " OFFSET 40")]
        conn.execute("DELETE FROM gridgeo.grids WHERE code = %s", (deleted,))
        # Shift one grid 20 m east (in degrees, about 0.0002°): overlaps on one side,
        # a gap on the other, and maybe a part outside its village.
        conn.execute("UPDATE gridgeo.grids SET geom = ST_Translate(geom, 0.0002, 0)"
                     " WHERE code = %s", (moved,))
        conn.commit()
        overlaps, gaps = postgis_overlaps(conn), postgis_gaps(conn)
    body = check(server, level="unit").json()
    found = [f["properties"] for f in body["features"]]
    ours_overlaps = {tuple(p["grid_codes"]): p["area_m2"] for p in found
                     if p["problem"] == "overlap"}
    assert set(ours_overlaps) == set(overlaps) and overlaps
    for pair, area in overlaps.items():
        assert ours_overlaps[pair] == pytest.approx(area, abs=0.1)
    ours_gaps: dict[str, float] = {}
    for p in found:
        if p["problem"] == "gap":
            ours_gaps[p["parent_code"]] = ours_gaps.get(p["parent_code"], 0.0) + p["area_m2"]
    assert set(ours_gaps) == set(gaps)
    for village, area in gaps.items():
        assert ours_gaps[village] == pytest.approx(area, abs=0.5)
    assert deleted[:12] in ours_gaps
    for p in found:
        assert p["suggested_fix"] and p["detail"]
        if p["problem"] == "overlap":
            assert moved in p["grid_codes"]


def test_within_a_village_checks_only_its_units(server: str, county_url: str) -> None:
    with psycopg.connect(county_url) as conn:
        village, units = conn.execute(
            "SELECT parent_code, count(*) FROM gridgeo.grids WHERE level = 'unit'"
            " GROUP BY parent_code ORDER BY parent_code DESC LIMIT 1").fetchone() or ("", 0)
    body = check(server, within=village).json()
    assert body["summary"]["levels"] == ["unit", "micro"]
    assert body["summary"]["grids_checked"]["unit"] == units


@pytest.mark.parametrize(("inputs", "sentence"), [
    ({"level": "county"}, "level must be all or one of"),
    ({"within": "410399999999"}, "no grid has the code 410399999999"),
    ({"max_problems": 0}, "max_problems must be a whole number from 1"),
])
def test_bad_input_is_a_400_with_a_sentence(server: str, inputs: dict[str, object],
                                            sentence: str) -> None:
    response = check(server, **inputs)
    assert response.status_code == 400
    assert sentence in response.json()["description"]
    assert "Traceback" not in response.text
