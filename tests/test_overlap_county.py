"""police-grid-overlap on a generated county in PostGIS: checked against PostGIS itself
(the computation under test uses shapely), the crosswalk it writes, and the process over
HTTP on a real server."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import requests
from gridgeo_plugins.overlap.compute import OverlapResult, compute_overlap
from gridgeo_plugins.overlap.crosswalk import write_crosswalk
from gridgeo_plugins.overlap.inputs import GridSelection, parse_overlap_request
from gridgeo_plugins.overlap.source import read_grids, read_police_grids

from gridgeo.geometry.layer import metric_srid
from gridgeo.geometry.synthetic import generate_county
from gridgeo.process_errors import InputError
from tests.conftest import EDITOR
from tests.test_overlap_support import county_database, scratch_name, server_on

EXECUTE = "/processes/police-grid-overlap/execution"
# Police grids removed after loading, so some grids are left uncovered.
REMOVED_POLICE = 3

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def county_url() -> Iterator[str]:
    county = generate_county(3000, 300, seed=21)
    with county_database(scratch_name("overlap"), county) as url:
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM gridgeo.police_grids WHERE code IN (SELECT code FROM"
                         " gridgeo.police_grids ORDER BY code DESC LIMIT %s)",
                         (REMOVED_POLICE,))
        yield url


@pytest.fixture()
def db(county_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(county_url) as conn:
        yield conn


@pytest.fixture(scope="module")
def county_server(county_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with server_on(county_url, tmp_path_factory.mktemp("overlap-server")) as url:
        yield url


def computed(conn: psycopg.Connection, selection: GridSelection | None = None
             ) -> OverlapResult:
    selection = selection or GridSelection()
    srid = metric_srid(conn)
    return compute_overlap(read_grids(conn, selection, srid),
                           read_police_grids(conn, selection, (), srid))


POSTGIS_PAIRS = """
WITH g AS (SELECT code, ST_Transform(geom, 4546) AS m FROM gridgeo.grids
            WHERE level = 'unit' AND kind = 'basic'),
     p AS (SELECT code, ST_Transform(geom, 4546) AS m FROM gridgeo.police_grids)
SELECT g.code, p.code, ST_Area(ST_Intersection(g.m, p.m)), ST_Area(g.m)
  FROM g JOIN p ON ST_Intersects(g.m, p.m)"""


def test_pairs_and_areas_agree_with_postgis(db: psycopg.Connection) -> None:
    result = computed(db)
    ours = {(result.grids.codes[g], result.police.codes[p]): a for g, p, a in zip(
        result.pieces.grid, result.pieces.police, result.pieces.area_m2, strict=True)}
    theirs = {(g, p): (a, ga) for g, p, a, ga in db.execute(POSTGIS_PAIRS) if a > 1e-4}
    assert set(ours) == set(theirs)
    worst = max(abs(ours[k] - a) / ga for k, (a, ga) in theirs.items())
    assert worst < 1e-6
    # Every grid's pieces add up to what PostGIS says the police grids cover of it.
    covered: dict[str, float] = dict(db.execute(
        "SELECT g.code, ST_Area(ST_Intersection(ST_Transform(g.geom, 4546), ST_Transform("
        "(SELECT ST_Union(geom) FROM gridgeo.police_grids), 4546))) FROM gridgeo.grids g"
        " WHERE level = 'unit'").fetchall())
    for g, code in enumerate(result.grids.codes):
        assert result.per_grid.covered_m2[g] == pytest.approx(covered[code], abs=1e-3)
    assert len(result.coverage.uncovered_grid) > 0  # the removed police grids left gaps


def test_the_dominant_police_grid_is_the_largest_piece_postgis_finds(
        db: psycopg.Connection) -> None:
    result = computed(db)
    rows = db.execute(f"SELECT DISTINCT ON (1) * FROM ({POSTGIS_PAIRS}) x "
                      "ORDER BY 1, 3 DESC, 2").fetchall()
    expected = {g: p for g, p, _a, _ga in rows}
    pieces = result.pieces
    ours = {result.grids.codes[g]: result.police.codes[p]
            for g, p in zip(pieces.grid[pieces.dominant], pieces.police[pieces.dominant],
                            strict=True)}
    assert ours == expected


def test_the_crosswalk_is_replaced_in_one_transaction(db: psycopg.Connection) -> None:
    full = computed(db)
    assert write_crosswalk(db, full) == len(full.pieces)
    db.commit()
    stored = db.execute("SELECT count(*), count(*) FILTER (WHERE dominant),"
                        " sum(area_m2) FROM gridgeo.grid_police_crosswalk").fetchone()
    assert stored is not None
    assert stored[0] == len(full.pieces)
    assert stored[1] == int((full.per_grid.dominant_piece >= 0).sum())
    assert stored[2] == pytest.approx(full.pieces.area_m2.sum())

    # Stored pieces, measured again in the metric CRS, keep their areas.
    drift = db.execute("SELECT max(abs(ST_Area(ST_Transform(geom, 4546)) - area_m2) / area_m2)"
                       " FROM gridgeo.grid_police_crosswalk WHERE area_m2 > 1000").fetchone()
    assert drift is not None and drift[0] < 1e-6

    # A write that fails half-way (a piece with no area breaks a CHECK) changes nothing.
    codes = full.grids.codes[:5].tolist()
    part = computed(db, GridSelection(codes=tuple(codes)))
    part.pieces.area_m2[-1] = 0.0
    before = db.execute("SELECT computed_at FROM gridgeo.grid_police_crosswalk"
                        " WHERE grid_code = %s LIMIT 1", (codes[0],)).fetchone()
    with pytest.raises(psycopg.errors.CheckViolation):
        write_crosswalk(db, part)
    db.rollback()
    after = db.execute("SELECT count(*), min(computed_at) FROM gridgeo.grid_police_crosswalk"
                       " WHERE grid_code = ANY(%s)", (codes,)).fetchone()
    assert after is not None and before is not None
    assert after[1] == before[0]

    # Replacing a few grids leaves every other row as it was.
    part = computed(db, GridSelection(codes=tuple(codes)))
    write_crosswalk(db, part)
    db.commit()
    newer = db.execute("SELECT count(DISTINCT grid_code) FROM gridgeo.grid_police_crosswalk"
                       " WHERE computed_at > %s", (before[0],)).fetchone()
    total = db.execute("SELECT count(*) FROM gridgeo.grid_police_crosswalk").fetchone()
    assert newer is not None and total is not None
    assert newer[0] == len(codes) and total[0] == len(full.pieces)

    code = codes[0]
    dominant = db.execute("SELECT gridgeo.dominant_police_grid(%s)", (code,)).fetchone()
    piece = part.per_grid.dominant_piece[0]
    assert dominant is not None
    assert dominant[0] == part.police.codes[part.pieces.police[piece]]


def test_selection_errors_are_sentences(db: psycopg.Connection) -> None:
    srid = metric_srid(db)
    with pytest.raises(InputError, match="unknown grid codes: 999"):
        read_grids(db, GridSelection(codes=("999",)), srid)
    with pytest.raises(InputError, match="no grids match basic micro grids"):
        read_grids(db, GridSelection(level="micro"), srid)
    with pytest.raises(InputError, match="no grids match basic unit grids in bbox"):
        read_grids(db, GridSelection(bbox=(10.0, 10.0, 11.0, 11.0)), srid)
    request = parse_overlap_request({"level": "unit"})
    assert read_police_grids(db, request.grids, ("410399J01001",), srid).codes.tolist() == \
        ["410399J01001"]


# -- over HTTP -------------------------------------------------------------------


def test_the_process_writes_the_crosswalk_that_the_collection_serves(
        county_server: str, db: psycopg.Connection) -> None:
    response = requests.post(county_server + EXECUTE, json={"inputs": {"level": "unit"}},
                             headers=EDITOR, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    summary, pieces = body["summary"], body["pieces"]
    units = db.execute("SELECT count(*) FROM gridgeo.grids WHERE level = 'unit'").fetchone()
    assert units is not None and summary["grids"] == units[0]
    assert summary["crosswalk"] == {"collection": "grid_police_crosswalk", "written": True,
                                    "rows": summary["pieces"]}
    assert pieces["numberMatched"] == summary["pieces"] == len(pieces["features"])
    assert summary["grids_partly_uncovered"] > 0
    kinds = {f["properties"]["problem"] for f in body["problems"]["features"]}
    assert {"uncovered", "sliver"} <= kinds
    shares = [w["dominant_share"] for w in summary["worst"]]
    assert shares == sorted(shares)

    # Pick the grid with the most pieces and read its rows back from the collection.
    counts: dict[str, int] = {}
    for f in pieces["features"]:
        counts[f["properties"]["grid_code"]] = counts.get(f["properties"]["grid_code"], 0) + 1
    grid = max(counts, key=lambda c: (counts[c], c))
    served = requests.get(f"{county_server}/collections/grid_police_crosswalk/items",
                          params={"grid_code": grid, "f": "json"}, timeout=60).json()
    ours = {f["id"]: f["properties"] for f in pieces["features"]
            if f["properties"]["grid_code"] == grid}
    theirs = {f["id"]: f["properties"] for f in served["features"]}
    assert set(ours) == set(theirs) and len(ours) == counts[grid]
    for fid, props in ours.items():
        assert theirs[fid]["area_m2"] == pytest.approx(props["area_m2"], abs=0.1)
        assert theirs[fid]["dominant"] == props["dominant"]
        assert theirs[fid]["grid_share"] == pytest.approx(props["grid_share"], abs=1e-6)
    dominant = [p for p in theirs.values() if p["dominant"]]
    assert len(dominant) == 1 and dominant[0]["officer_names"]


def test_csv_for_the_office(county_server: str) -> None:
    response = requests.post(county_server + EXECUTE,
                             json={"inputs": {"level": "unit", "write_crosswalk": False},
                                   "outputs": {"csv": {}}}, timeout=120)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffgrid_code,grid_name,police_grid_code")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 3000
    shares = np.array([float(r["dominant_share"]) for r in rows])
    assert ((shares >= 0) & (shares <= 1)).all()


@pytest.mark.parametrize(("inputs", "sentence"), [
    ({"level": "planet"}, "level must be one of"),
    ({"grid_codes": ["999999"]}, "unknown grid codes: 999999"),
    ({"bbox": [10, 10, 11, 11]}, "no grids match"),
    ({"bbox": [113, 34]}, "bbox must be four numbers"),
    ({"police_codes": ["410399J01001"], "write_crosswalk": True}, "write_crosswalk needs"),
    ({"sliver_share": "big"}, "sliver_share must be a number"),
    ({"grid_codes": ["x"] * 10_001}, "at most 10000"),
])
def test_bad_input_is_a_400_with_a_sentence(county_server: str, inputs: dict[str, object],
                                            sentence: str) -> None:
    # As an editor: for others the core turns write_crosswalk off before the inputs are read.
    response = requests.post(county_server + EXECUTE, json={"inputs": inputs}, timeout=60,
                             headers=EDITOR)
    assert response.status_code == 400
    assert sentence in response.json()["description"]
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_unknown_output_is_a_400(county_server: str) -> None:
    response = requests.post(county_server + EXECUTE,
                             json={"inputs": {}, "outputs": {"map": {}}}, timeout=60)
    assert response.status_code == 400
    assert "unknown output 'map'" in response.text


def test_processes_are_listed(county_server: str) -> None:
    listed = requests.get(f"{county_server}/processes?f=json", timeout=30).json()
    ids = {p["id"] for p in listed["processes"]}
    assert {"police-grid-overlap", "grid-topology"} <= ids


def test_invalid_geometry_in_the_data_is_reported_not_a_500(
        county_server: str, db: psycopg.Connection, tmp_path: Path) -> None:
    code = db.execute("SELECT code FROM gridgeo.grids WHERE level = 'unit' ORDER BY code"
                      " LIMIT 1").fetchone()
    assert code is not None
    # Data imported around the constraint: a bow tie.
    db.execute("ALTER TABLE gridgeo.grids DROP CONSTRAINT grids_geom_valid")
    db.execute("UPDATE gridgeo.grids SET geom = ST_Multi(ST_GeomFromText('POLYGON((112.3 34.1,"
               " 112.31 34.11, 112.31 34.1, 112.3 34.11, 112.3 34.1))', 4490)) WHERE code = %s",
               code)
    db.commit()
    try:
        response = requests.post(county_server + EXECUTE, json={
            "inputs": {"grid_codes": [code[0]], "write_crosswalk": False},
            "outputs": {"summary": {}}}, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["invalid_grid_geometries"] == [code[0]]
        topology = requests.post(f"{county_server}/processes/grid-topology/execution",
                                 json={"inputs": {"within": code[0][:12]}}, timeout=60)
        assert topology.status_code == 200, topology.text
        problems = topology.json()["features"]
        assert any(f["properties"]["problem"] == "invalid_geometry"
                   and f["properties"]["grid_codes"] == [code[0]] for f in problems)
    finally:
        db.rollback()
