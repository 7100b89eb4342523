"""Items and tiles served side by side on the same data in one run, requests interleaved:

- gridgeo: gridgeo's own routes (GeoJSON text built by PostGIS, spliced, not re-parsed);
- stock: pygeoapi 0.21's PostgreSQL provider (SQLAlchemy + shapely) on the same table;
- one-sql: the floor: an HTTP server (scripts/onesql_server.py, gunicorn with as many
  workers) answering each request with one SQL statement that builds the whole body.

Cases: a page of 1,000, a bbox of ~500, QGIS's extent page (bbox = the layer's extent,
EPSG:4490), one item by id, incidents in a bbox under row-level security (a viewer's key
on gridgeo; the floor reads bare) and vector tiles. Throughput: --clients concurrent
clients for --seconds on each variant.

Usage: .venv/bin/pip install -e '.[bench]' && .venv/bin/python scripts/bench_features.py --scale 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast
from urllib.parse import urlencode

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import bench_database, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
PORT = 5093
ONE_SQL_PORT = 5095
VIEWER_KEY = "bench-viewer-key"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


def stock_table(url: str) -> None:
    """The stock provider's best case: the same rows in EPSG:4326, where its bbox and
    output need no transformation (with a storage CRS of 4490 its bbox SQL mixes SRIDs)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('gridgeo.addresses_4326')").fetchone()[0]:  # type: ignore[index]
            return
        conn.execute("CREATE TABLE gridgeo.addresses_4326 AS SELECT a.*, ST_Transform(a.geom,"
                     " 4326)::geometry(Point, 4326) AS geom4326 FROM gridgeo.addresses_view a")
        conn.execute("ALTER TABLE gridgeo.addresses_4326 DROP COLUMN geom")
        conn.execute("ALTER TABLE gridgeo.addresses_4326 RENAME COLUMN geom4326 TO geom")
        conn.execute("ALTER TABLE gridgeo.addresses_4326 ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ON gridgeo.addresses_4326 USING gist (geom)")
        conn.execute("CREATE INDEX ON gridgeo.addresses_4326 (address_code)")
        conn.execute("ANALYZE gridgeo.addresses_4326")


def stock_config(url: str, tmp: Path) -> Path:
    """The deployment file plus a resource served by pygeoapi's stock provider."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    config = yaml.safe_load((ROOT / "pygeoapi-config.yml").read_text())
    config["resources"] = {"addresses_stock": {
        "type": "collection", "title": "addresses (stock provider)",
        "description": "pygeoapi PostgreSQL provider", "keywords": ["bench"],
        "access": {"read": ["anonymous"]},  # collections are private unless they say so
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90]}},
        "providers": [{"type": "feature", "name": "PostgreSQL",
                       "data": {"host": info.get("host", "127.0.0.1"),
                                "port": int(info.get("port") or 5432),
                                "dbname": info["dbname"], "user": info["user"],
                                "password": info.get("password", ""),
                                "search_path": ["gridgeo", "public"]},
                       "id_field": "id", "table": "addresses_4326", "geom_field": "geom"}]}}
    path = tmp / "bench-config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def http_get(path: str, *, port: int = PORT,
             headers: dict[str, str] | None = None) -> Callable[[], int]:
    local = threading.local()

    def call() -> int:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        asked = {"Accept": "application/geo+json", **(headers or {})}
        local.conn.request("GET", path, headers=asked)
        response = local.conn.getresponse()
        body = response.read()
        assert response.status in (200, 204), body[:300]
        return len(body)
    return call


def one_sql(path: str) -> Callable[[], int]:
    return http_get(path, port=ONE_SQL_PORT)


def start_one_sql(url: str, home: Path, workers: int = 2) -> Path:
    """The one-SQL floor under gunicorn with gridgeo's worker count; returns its pid file."""
    pid = home / "onesql.pid"
    subprocess.run([sys.executable, "-m", "gunicorn", "onesql_server:app", "--chdir",
                    str(Path(__file__).parent), "--workers", str(workers), "--bind",
                    f"127.0.0.1:{ONE_SQL_PORT}", "--pid", str(pid), "--daemon"],
                   env={**os.environ, "ONESQL_URL": url}, check=True)
    for _ in range(100):
        if pid.exists():
            break
        time.sleep(0.1)
    return pid


Variants = dict[str, Callable[[], int]]


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return int((lon + 180.0) / 360.0 * n), int(y)


def box_args(bbox: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))


def cases(places: dict[str, object]) -> dict[str, Variants]:
    page = {"limit": 1000, "offset": 2000}
    bbox: tuple[float, ...] = places["bbox"]  # type: ignore[assignment]
    extent: list[float] = places["extent"]  # type: ignore[assignment]
    box = ",".join(f"{v:.6f}" for v in bbox)
    qgis = {"limit": 100, "bbox-crs": EPSG4490,
            "bbox": ",".join(str(extent[i]) for i in (1, 0, 3, 2))}
    viewer = {"Authorization": f"Bearer {VIEWER_KEY}"}
    item = places["item"]
    x, y = cast(tuple[float, float], places["centre"])
    incidents_box = (x - 0.02, y - 0.02, x + 0.02, y + 0.02)
    found: dict[str, Variants] = {
        "items limit=1000": {
            "gridgeo": http_get(f"/collections/addresses/items?{urlencode(page)}"),
            "stock": http_get(f"/collections/addresses_stock/items?f=json&"
                              f"{urlencode({**page, 'sortby': 'address_code'})}"),
            "one-sql": one_sql(f"/items?{urlencode(page)}")},
        "bbox (~500 features)": {
            "gridgeo": http_get(f"/collections/addresses/items?limit=1000&bbox={box}"),
            "stock": http_get(f"/collections/addresses_stock/items?f=json&limit=1000&bbox={box}"),
            "one-sql": one_sql(f"/bbox?limit=1000&{urlencode(box_args(bbox))}")},
        "QGIS extent page (100)": {
            "gridgeo": http_get(f"/collections/addresses/items?{urlencode(qgis)}"),
            "gridgeo unfiltered": http_get("/collections/addresses/items?limit=100"),
            "one-sql": one_sql("/items?limit=100")},
        "one item by id": {
            "gridgeo": http_get(f"/collections/addresses/items/{item}"),
            "stock": http_get(f"/collections/addresses_stock/items/{item}?f=json"),
            "one-sql": one_sql(f"/item/{item}")},
        "incidents bbox, RLS (viewer)": {
            "gridgeo": http_get("/collections/incidents/items?limit=1000&bbox="
                                + ",".join(f"{v:.6f}" for v in incidents_box), headers=viewer),
            "one-sql": one_sql(f"/incidents?limit=1000&{urlencode(box_args(incidents_box))}")},
    }
    for collection, z in (("addresses", 15), ("incidents", 13), ("grids", 12)):
        tx, ty = tile_xy(x, y, z)  # type: ignore[arg-type]
        found[f"tile {collection} z{z}"] = {
            "gridgeo": http_get(f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{ty}/{tx}"
                                "?f=mvt", headers=viewer),
            "one-sql": one_sql(f"/tiles/{collection}/{z}/{tx}/{ty}")}
    return found


def latency(variants: dict[str, Callable[[], int]], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():
        fn()  # warm up
    for _ in range(n):
        for name, fn in variants.items():  # interleaved, so drift hits all alike
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return times


def throughput(fn: Callable[[], int], clients: int, seconds: float) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < stop:
            fn()
            done[i] += 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def places(url: str) -> dict[str, object]:
    """Where the cases look: a bbox of ~500 addresses around the median one, the layer's
    extent as gridgeo advertises it, an item id and the centre of the data."""
    from gridgeo.extents import collection_extents

    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM gridgeo.addresses").fetchone()[0]  # type: ignore[index]
        x, y, item = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom), id FROM gridgeo.addresses"
            " ORDER BY address_code OFFSET %s LIMIT 1", (total // 2,)).fetchone()  # type: ignore[misc]
        half = 0.002
        while conn.execute("SELECT count(*) FROM gridgeo.addresses WHERE ST_Intersects(geom,"
                           " ST_MakeEnvelope(%s, %s, %s, %s, 4490))",
                           (x - half, y - half, x + half, y + half)).fetchone()[0] < 500:  # type: ignore[index]
            half *= 1.2
        from gridgeo.config import contributed_collections
        from gridgeo.plugins import get_plugin_manager

        addresses = [c for c in contributed_collections(get_plugin_manager())
                     if c.id == "addresses"]
        extent = collection_extents(conn, addresses)["addresses"]["spatial"]["bbox"]
    return {"total": total, "bbox": (x - half, y - half, x + half, y + half),
            "extent": extent, "item": item, "centre": (x, y)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--only", default="",
                        help="run only the cases whose name contains this, e.g. 'extent'")
    args = parser.parse_args()
    url, dem = bench_database(f"gridgeo_bench_{args.scale}", args.scale)
    where = places(url)
    stock_table(url)
    os.environ["GRIDGEO_API_KEYS"] = json.dumps({VIEWER_KEY: "viewer"})
    with tempfile.TemporaryDirectory() as tmp:
        env = start_server(url, dem, PORT, stock_config(url, Path(tmp)), Path(tmp))
        floor_pid = start_one_sql(url, Path(tmp))
        try:
            print(f"\n{where['total']:,} addresses (demo --scale {args.scale}); medians of "
                  f"{args.requests} interleaved requests; throughput with {args.clients} "
                  f"clients for {args.seconds:.0f} s each\n")
            print(f"| case | variant | median ms | p90 ms | × one-sql | req/s @{args.clients} "
                  "| × one-sql req/s |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for case, variants in cases(where).items():
                if args.only not in case:
                    continue
                times = latency(variants, args.requests)
                floor = statistics.median(times["one-sql"])
                rates = {name: throughput(fn, args.clients, args.seconds)
                         for name, fn in variants.items()}
                for name in variants:
                    med = statistics.median(times[name])
                    p90 = statistics.quantiles(times[name], n=10)[-1]
                    print(f"| {case} | {name} | {med * 1000:.1f} | {p90 * 1000:.1f} | "
                          f"{med / floor:.2f} | {rates[name]:.0f} | "
                          f"{rates[name] / rates['one-sql']:.2f} |", flush=True)
        finally:
            stop_server(env)
            if floor_pid.exists():
                subprocess.run(["kill", floor_pid.read_text().strip()], check=False)


if __name__ == "__main__":
    main()
