"""Patrol routes in the patrol_routes table, so a field app can fetch "my routes today"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson


def save_routes(conn: Any, day: dt.date, routes: list[dict[str, Any]]) -> list[str]:
    """Insert the routes (one row each) and return their new route numbers XCyyyymmdd-NNN."""
    prefix = f"XC{day:%Y%m%d}-"
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('gridgeo.patrol_routes'))")
    last = conn.execute("SELECT max(route_no) FROM gridgeo.patrol_routes WHERE route_no LIKE %s",
                        (prefix + "%",)).fetchone()[0]
    n = int(last.rsplit("-", 1)[1]) if last else 0
    numbers = []
    for r in routes:
        n += 1
        number = f"{prefix}{n:03d}"
        r["route_no"] = number
        for s in r["stops"]:
            s["route_no"] = number
        line = orjson.dumps({"type": "LineString", "coordinates": r["coordinates"]}).decode()
        conn.execute(
            "INSERT INTO gridgeo.patrol_routes (route_no, name, patrol_kind, travel_mode, "
            "patrol_date, starts_at, assignee_id, area, length_m, duration_s, stops, geom) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, "
            "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4490)))",
            (number, r["name"], r["patrol_kind"], r["travel_mode"], day, r["starts_at"],
             r.get("assignee_id"), r.get("area"), r["length_m"], r["duration_s"],
             orjson.dumps(r["stops"]).decode(), line))
        numbers.append(number)
    # No commit here: the caller's transaction commits (with an Idempotency-Key record,
    # when the execution carries one).
    return numbers


def load_route(conn: Any, route_no: str) -> dict[str, Any] | None:
    """A stored route as the dict ``patrols_to_gpx`` reads, or None."""
    row = conn.execute(
        "SELECT route_no, name, starts_at, length_m, duration_s, stops, "
        "ST_AsGeoJSON(ST_GeometryN(geom, 1)) FROM gridgeo.patrol_routes WHERE route_no = %s",
        (route_no,)).fetchone()
    if row is None:
        return None
    geom = orjson.loads(row[6])
    coords = geom["coordinates"] if geom["type"] == "LineString" else \
        [c for part in geom["coordinates"] for c in part]
    return {"route_no": row[0], "name": row[1],
            "starts_at": row[2].isoformat() if row[2] else None, "length_m": row[3] or 0,
            "duration_s": row[4] or 0, "stops": row[5], "coordinates": coords}
