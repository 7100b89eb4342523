"""Vector tiles served two ways from the same county-scale data, requests interleaved:

- gridgeo: the maps plugin's tiles route (integer SRIDs, index-using envelope in 4490,
  zoom-dependent rows and simplification, only the view's non-personal columns);
- stock: pygeoapi 0.21's MVT-postgresql provider on the same table (text CRS in
  ST_Transform, every column, no simplification).

No cache on either side: the server keeps none, and the client sends no validators.
Tiles are those holding the most unit-grid centroids at each zoom, so every tile has data.

Usage: .venv/bin/pip install -e '.[bench]' && .venv/bin/python scripts/bench_tiles.py --scale 20
"""

from __future__ import annotations

import argparse
import http.client
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import bench_database, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
PORT = 5094
# (collection, table the stock provider reads, zoom)
CASES = [("grids", "grids", 10), ("grids", "grids", 12), ("grids", "grids", 14),
         ("roads", "roads", 12), ("addresses", "addresses", 15),
         ("incidents", "incidents", 13), ("greenhouses", "greenhouses", 14)]


def stock_config(url: str, tmp: Path) -> Path:
    """The deployment file plus one stock MVT-postgresql collection per table."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    data = {"host": info.get("host", "127.0.0.1"), "port": int(info.get("port") or 5432),
            "dbname": info["dbname"], "user": info["user"], "password": info.get("password", ""),
            "search_path": ["gridgeo", "public"]}
    config = yaml.safe_load((ROOT / "pygeoapi-config.yml").read_text())
    config["resources"] = {f"{table}_stock": {
        "type": "collection", "title": f"{table} (stock MVT provider)",
        "description": "pygeoapi MVT-postgresql provider", "keywords": ["bench"],
        "access": {"read": ["anonymous"]},  # collections are private unless they say so
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90]}},
        "providers": [{"type": "tile", "name": "MVT-postgresql", "data": data,
                       "id_field": "id", "table": table, "geom_field": "geom",
                       "storage_crs": "http://www.opengis.net/def/crs/EPSG/0/4490",
                       "options": {"zoom": {"min": 0, "max": 18}},
                       "format": {"name": "pbf",
                                  "mimetype": "application/vnd.mapbox-vector-tile"}}]}
        for table in sorted({t for _, t, _ in CASES})}
    path = tmp / "bench-config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def busiest_tiles(conn: psycopg.Connection, table: str, z: int, n: int) -> list[tuple[int, int]]:
    """The n tiles at zoom z holding the most features of ``table``."""
    rows = conn.execute(f"""
        SELECT floor((ST_X(p) + 180) / 360 * 2 ^ %(z)s)::int AS x,
               floor((1 - ln(tan(radians(ST_Y(p))) + 1 / cos(radians(ST_Y(p)))) / pi())
                     / 2 * 2 ^ %(z)s)::int AS y
          FROM (SELECT ST_PointOnSurface(geom) p FROM gridgeo.{table}) s
         GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT %(n)s""", {"z": z, "n": n}).fetchall()
    return [(int(x), int(y)) for x, y in rows]


def fetch(conn: http.client.HTTPConnection, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    assert response.status in (200, 204), (path, response.status, body[:300])
    return elapsed, len(body)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--tiles", type=int, default=20, help="tiles per case (gridgeo)")
    parser.add_argument("--stock-tiles", type=int, default=3,
                        help="of those, how many the stock provider serves (it is slow)")
    args = parser.parse_args()
    url, dem = bench_database(f"gridgeo_bench_{args.scale}", args.scale)
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM gridgeo.{t}").fetchone()[0]  # type: ignore[index]
                  for t in ("grids", "addresses", "roads", "incidents", "greenhouses")}
        tiles = {(c, z): busiest_tiles(conn, t, z, args.tiles)
                 for c, t, z in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        env = start_server(url, dem, PORT, stock_config(url, Path(tmp)), Path(tmp))
        try:
            client = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
            print(f"\ndemo --scale {args.scale}: " + ", ".join(f"{n:,} {t}"
                                                           for t, n in counts.items()))
            print(f"{args.tiles} busiest tiles per case for gridgeo, the first "
                  f"{args.stock_tiles} of them for the stock provider, interleaved; "
                  "no cache anywhere\n")
            print("| collection | zoom | gridgeo p50 ms | gridgeo p90 ms | gridgeo KiB | "
                  "stock p50 ms | stock max ms | stock KiB | speed-up |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for collection, _table, z in CASES[:1]:  # warm up the server's workers and pool
                x, y = tiles[(collection, z)][-1]
                for _ in range(4):
                    fetch(client, f"/collections/{collection}/tiles/WebMercatorQuad/"
                                  f"{z}/{y}/{x}?f=mvt")
            for collection, table, z in CASES:
                ours, stock, our_size, stock_size = [], [], [], []
                for i, (x, y) in enumerate(tiles[(collection, z)]):
                    t, size = fetch(client, f"/collections/{collection}/tiles/WebMercatorQuad/"
                                            f"{z}/{y}/{x}?f=mvt")
                    ours.append(t)
                    our_size.append(size)
                    if i < args.stock_tiles:
                        t, size = fetch(client, f"/collections/{table}_stock/tiles/"
                                                f"WebMercatorQuad/{z}/{y}/{x}?f=mvt")
                        stock.append(t)
                        stock_size.append(size)
                p50, s50 = statistics.median(ours), statistics.median(stock)
                print(f"| {collection} | {z} | {p50 * 1000:.1f} | "
                      f"{percentile(ours, 0.9) * 1000:.1f} | "
                      f"{statistics.median(our_size) / 1024:.0f} | {s50 * 1000:.0f} | "
                      f"{max(stock) * 1000:.0f} | {statistics.median(stock_size) / 1024:.0f} | "
                      f"{s50 / p50:.0f}× |", flush=True)
        finally:
            stop_server(env)


if __name__ == "__main__":
    main()
