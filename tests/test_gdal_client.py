"""GDAL's OGC API Features driver as a real client (ogrinfo, ogr2ogr)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROLE_KEYS
from tests.test_features import COLLECTIONS

# As admin, who reads every collection and row, so counts compare with SQL on the tables.
ADMIN_KEY = next(k for k, r in ROLE_KEYS.items() if r == "admin")


def ogr(*args: str) -> str:
    command = [*args, "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {ADMIN_KEY}"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def feature_count(output: str) -> int:
    match = re.search(r"Feature Count: (\d+)", output)
    assert match, output[:2000]
    return int(match.group(1))


def test_ogrinfo_lists_every_collection(base_url: str) -> None:
    out = ogr("ogrinfo", "-ro", "-q", f"OAPIF:{base_url}")
    for collection in COLLECTIONS:
        assert re.search(rf"^\d+: {collection}\b", out, re.MULTILINE), out


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_ogr2ogr_copies_every_feature(base_url: str, conn: psycopg.Connection,
                                      tmp_path: Path, collection: str) -> None:
    gpkg = tmp_path / f"{collection}.gpkg"
    ogr("ogr2ogr", "-f", "GPKG", str(gpkg), f"OAPIF:{base_url}", collection,
        "-oo", "PAGE_SIZE=1000")
    expected = conn.execute(f"SELECT count(*) FROM gridgeo.{collection}").fetchone()[0]  # type: ignore[index]
    with sqlite3.connect(gpkg) as lite:
        tables = {r[0] for r in lite.execute("SELECT table_name FROM gpkg_contents")}
        copied = lite.execute(f'SELECT count(*) FROM "{collection}"').fetchone()[0] \
            if collection in tables else 0
    assert copied == expected


def test_fid_where_and_spatial_filter(base_url: str, conn: psycopg.Connection) -> None:
    code = conn.execute("SELECT code FROM gridgeo.grids WHERE id = 5").fetchone()[0]  # type: ignore[index]
    out = ogr("ogrinfo", "-ro", f"OAPIF:{base_url}", "grids", "-fid", "5")
    assert f"code (String) = {code}" in out

    villages = conn.execute("SELECT count(*) FROM gridgeo.grids WHERE level = 'village'"
                            ).fetchone()[0]  # type: ignore[index]
    out = ogr("ogrinfo", "-ro", "-so", f"OAPIF:{base_url}", "grids", "-where",
              "level = 'village'")
    assert feature_count(out) == villages

    x0, y0, x1, y1 = conn.execute(
        # Corners off any adit, so no point lies on the box's edge.
        "SELECT ST_XMin(e) - 0.01, ST_YMin(e) - 0.01, (ST_XMin(e) + ST_XMax(e)) / 2 + 1e-7,"
        " (ST_YMin(e) + ST_YMax(e)) / 2 + 1e-7 FROM (SELECT ST_Extent(geom) e"
        " FROM gridgeo.mine_tunnels) s").fetchone()  # type: ignore[misc]
    inside = conn.execute("SELECT count(*) FROM gridgeo.mine_tunnels WHERE ST_Intersects(geom,"
                          " ST_MakeEnvelope(%s, %s, %s, %s, 4490))", (x0, y0, x1, y1)
                          ).fetchone()[0]  # type: ignore[index]
    out = ogr("ogrinfo", "-ro", "-so", f"OAPIF:{base_url}", "mine_tunnels", "-spat",
              str(x0), str(y0), str(x1), str(y1))
    assert inside > 0 and feature_count(out) == inside
