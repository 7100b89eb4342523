"""Items served three ways on the same data in one run, requests interleaved:

- gridgeo: gridgeo's own items route (GeoJSON text built by PostGIS, spliced, not re-parsed);
- stock: pygeoapi 0.21's PostgreSQL provider (SQLAlchemy + shapely) on the same table;
- in-db: the floor: one SQL statement that builds the same FeatureCollection, read by psycopg.

Usage: .venv/bin/pip install -e '.[bench]' && .venv/bin/python scripts/bench_features.py --scale 20
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import bench_database, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
PORT = 5093

IN_DB = """
SELECT json_build_object(
  'type', 'FeatureCollection',
  'numberMatched', (SELECT count(*) FROM gridgeo.addresses_view t WHERE {where}),
  'features', coalesce(json_agg(f ORDER BY rn), '[]'))::text
FROM (SELECT row_number() OVER () AS rn, json_build_object('type', 'Feature', 'id', t.id,
        'geometry', ST_AsGeoJSON(ST_Transform(t.geom, 4326), 7)::json,
        'properties', to_jsonb(t) - 'geom') AS f
      FROM (SELECT * FROM gridgeo.addresses_view t WHERE {where}
            ORDER BY address_code, id LIMIT %(limit)s OFFSET %(offset)s) t) s
"""


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
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90]}},
        "providers": [{"type": "feature", "name": "PostgreSQL",
                       "data": {"host": info.get("host", "127.0.0.1"),
                                "port": int(info.get("port", 5432)),
                                "dbname": info["dbname"], "user": info["user"],
                                "password": info.get("password", ""),
                                "search_path": ["gridgeo", "public"]},
                       "id_field": "id", "table": "addresses_4326", "geom_field": "geom"}]}}
    path = tmp / "bench-config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def http_get(path: str) -> Callable[[], int]:
    local = threading.local()

    def call() -> int:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        local.conn.request("GET", path, headers={"Accept": "application/geo+json"})
        response = local.conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return len(body)
    return call


def in_db(url: str, where: str, params: dict[str, object]) -> Callable[[], int]:
    local = threading.local()
    stmt = IN_DB.format(where=where)

    def call() -> int:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url, autocommit=True)
        return len(local.conn.execute(stmt, params).fetchone()[0])  # type: ignore[index]
    return call


Variants = dict[str, Callable[[], int]]


def cases(url: str, bbox: tuple[float, float, float, float]) -> dict[str, Variants]:
    page = {"limit": 1000, "offset": 2000}
    box = ",".join(f"{v:.6f}" for v in bbox)
    return {
        "items limit=1000": {
            "gridgeo": http_get(f"/collections/addresses/items?{urlencode(page)}"),
            "stock": http_get(f"/collections/addresses_stock/items?f=json&"
                              f"{urlencode({**page, 'sortby': 'address_code'})}"),
            "in-db": in_db(url, "true", page),
        },
        "bbox (~500 features)": {
            "gridgeo": http_get(f"/collections/addresses/items?limit=1000&bbox={box}"),
            "stock": http_get(f"/collections/addresses_stock/items?f=json&limit=1000&bbox={box}"),
            "in-db": in_db(url, "ST_Intersects(t.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s,"
                           " %(y1)s, 4490))", {"limit": 1000, "offset": 0, "x0": bbox[0],
                                               "y0": bbox[1], "x1": bbox[2], "y1": bbox[3]}),
        },
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    url, dem = bench_database(f"gridgeo_bench_{args.scale}", args.scale)
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM gridgeo.addresses").fetchone()[0]  # type: ignore[index]
        # A box around the median address, grown until it holds about 500 of them.
        x, y = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.addresses"
                            " ORDER BY address_code OFFSET %s LIMIT 1", (total // 2,)).fetchone()  # type: ignore[misc]
        half = 0.002
        while conn.execute("SELECT count(*) FROM gridgeo.addresses WHERE ST_Intersects(geom,"
                           " ST_MakeEnvelope(%s, %s, %s, %s, 4490))",
                           (x - half, y - half, x + half, y + half)).fetchone()[0] < 500:  # type: ignore[index]
            half *= 1.2
    bbox = (x - half, y - half, x + half, y + half)
    stock_table(url)
    with tempfile.TemporaryDirectory() as tmp:
        env = start_server(url, dem, PORT, stock_config(url, Path(tmp)), Path(tmp))
        try:
            print(f"\n{total:,} addresses (demo --scale {args.scale}); medians of "
                  f"{args.requests} interleaved requests; throughput with {args.clients} "
                  f"clients for {args.seconds:.0f} s each\n")
            print(f"| case | variant | median ms | p90 ms | × in-db | req/s @{args.clients} |")
            print("|---|---|---:|---:|---:|---:|")
            for case, variants in cases(url, bbox).items():
                times = latency(variants, args.requests)
                floor = statistics.median(times["in-db"])
                for name, fn in variants.items():
                    med = statistics.median(times[name])
                    p90 = statistics.quantiles(times[name], n=10)[-1]
                    rps = throughput(fn, args.clients, args.seconds)
                    print(f"| {case} | {name} | {med * 1000:.1f} | {p90 * 1000:.1f} | "
                          f"{med / floor:.2f} | {rps:.0f} |", flush=True)
        finally:
            stop_server(env)


if __name__ == "__main__":
    main()
