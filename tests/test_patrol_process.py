"""The patrol-route process through the running server, on the demo town (seed 42)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
import requests

from tests.conftest import EDITOR, ROLE_KEYS, fetch_row

VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}

DAY = "2026-11-20"
VILLAGE = "410399101218"  # the mine area: most adits due


def _execute(base_url: str, inputs: dict, timeout: float = 30,
             headers: dict | None = None) -> requests.Response:
    """As a GIS editor, who may store routes (an anonymous caller only plans)."""
    return requests.post(f"{base_url}/processes/patrol-route/execution",
                         json={"inputs": inputs}, timeout=timeout,
                         headers=EDITOR if headers is None else headers)


def _routes(body: dict) -> list[dict]:
    return [f for f in body["features"] if f["geometry"]["type"] == "LineString"]


def _validate_gpx(body: bytes):
    import gpxpy
    from gridgeo_plugins.patrol.gpx import gpx_schema
    from lxml import etree

    schema = gpx_schema()
    assert schema.validate(etree.parse(io.BytesIO(body))), schema.error_log
    return gpxpy.parse(body.decode("utf-8"))


def test_the_process_is_offered(base_url):
    r = requests.get(f"{base_url}/processes/patrol-route", timeout=10)
    assert r.status_code == 200
    assert {"area", "targets", "patrol_kind", "travel_mode"} <= set(r.json()["inputs"])


@pytest.fixture(scope="module")
def adit_patrols(base_url, demo_db_url):
    from gridgeo.db.pool import connect  # the deployment's zone: the due date depends on it

    with connect(demo_db_url) as conn:
        staff = [r[0] for r in conn.execute(
            "SELECT id FROM gridgeo.staff WHERE role = 'inspector' ORDER BY id LIMIT 2")]
        due = fetch_row(
            conn, "SELECT count(*) FROM gridgeo.mine_tunnels_due_on(%s) t, gridgeo.grids g "
            "WHERE g.code = %s AND ST_Intersects(t.geom, g.geom)", (DAY, VILLAGE))[0]
    inputs = {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"], "date": DAY,
              "start_time": "08:00", "patrols": 2, "max_hours": 4, "travel_mode": "walking",
              "assignee_ids": staff}
    r = _execute(base_url, inputs)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/geo+json")
    return r.json(), staff, due


def test_due_adits_are_split_into_patrols_within_the_maximum_duration(adit_patrols):
    body, _, due = adit_patrols
    routes = _routes(body)
    assert 1 <= len(routes) <= 2
    visited = sum(len(f["properties"]["stops"]) for f in routes)
    assert due > 20
    assert visited + len(body["dropped"]) == due  # every due adit is visited or explained
    assert all(d["reason"] for d in body["dropped"])
    for f in routes:
        p = f["properties"]
        assert 0 < p["duration_s"] <= 4 * 3600
        assert p["length_m"] > 0 and len(f["geometry"]["coordinates"]) >= 2
        assert p["starts_at"] == f"{DAY}T08:00:00+08:00"
        arrivals = [dt.datetime.fromisoformat(s["arrival"]) for s in p["stops"]]
        assert arrivals == sorted(arrivals)
        assert all(a.utcoffset() == dt.timedelta(hours=8) for a in arrivals)
        # A Chinese deployment answers in Chinese unless the request asks otherwise.
        assert all(s["task"].startswith("巡查封闭矿洞") for s in p["stops"])


def test_stored_routes_are_my_routes_today_over_ogc_api(base_url, adit_patrols):
    body, staff, _ = adit_patrols
    first = _routes(body)[0]["properties"]
    r = requests.get(f"{base_url}/collections/patrol_routes/items",
                     params={"patrol_date": DAY, "assignee_id": staff[0], "f": "json"},
                     headers=VIEWER, timeout=10)
    assert r.status_code == 200, r.text
    items = r.json()["features"]
    assert first["route_no"] in [i["properties"]["route_no"] for i in items]
    assert all(i["properties"]["assignee_id"] == staff[0] for i in items)


def test_a_stored_route_downloads_as_valid_gpx(base_url, adit_patrols):
    body, _, _ = adit_patrols
    route = _routes(body)[0]["properties"]
    assert requests.get(f"{base_url}{route['gpx']}", timeout=10).status_code == 404
    r = requests.get(f"{base_url}{route['gpx']}", headers=VIEWER, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/gpx+xml")
    gpx = _validate_gpx(r.content)
    assert len(gpx.waypoints) == len(route["stops"])
    assert len(gpx.tracks) == 1 and gpx.tracks[0].get_points_no() >= 2
    assert requests.get(f"{base_url}/patrol-routes/XC19990101-999.gpx", headers=VIEWER,
                        timeout=10).status_code == 404


def test_time_windows_of_named_features_are_kept(base_url, demo_db_url):
    import psycopg

    with psycopg.connect(demo_db_url) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT gh_no FROM gridgeo.greenhouses WHERE grid_code LIKE %s ORDER BY gh_no "
            "LIMIT 6", (VILLAGE + "%",))]
        gh_ids = [r[0] for r in conn.execute(
            "SELECT id FROM gridgeo.greenhouses WHERE gh_no = ANY(%s) ORDER BY gh_no", (ids,))]
    windows = [["10:00", "11:00"], ["08:30", "09:30"]] * 3
    features = [{"collection": "greenhouses", "id": i, "time_window": w, "task": "scan"}
                for i, w in zip(gh_ids, windows, strict=True)]
    r = _execute(base_url, {"area": {"grids": [VILLAGE]}, "features": features, "date": DAY,
                            "start_time": "08:00", "store": False})
    assert r.status_code == 200, r.text
    body = r.json()
    by_id = {str(f["id"]): w for f, w in zip(features, windows, strict=True)}
    stops = [s for f in _routes(body) for s in f["properties"]["stops"]]
    assert len(stops) + len(body["dropped"]) == 6
    for s in stops:
        late = dt.time.fromisoformat(by_id[s["code"]][1])
        arrival = dt.datetime.fromisoformat(s["arrival"]).time()
        assert arrival <= late  # waiting for an early window is allowed, arriving late is not


@pytest.mark.parametrize(("mode", "grid", "gap"), [("walking", VILLAGE, 0.20),
                                                    ("driving", "410399101001", 0.08)])
def test_street_sweep_of_a_village(base_url, mode, grid, gap):
    r = _execute(base_url, {"area": {"grids": [grid]}, "patrol_kind": "street_sweep",
                            "travel_mode": mode, "date": DAY, "store": False})
    assert r.status_code == 200, r.text
    body = r.json()
    q = body["sweep"]
    assert q["lower_bound_s"] <= q["total_s"] + 0.1
    # walking: the bound ignores uphill/downhill; driving: 3 % on an idle machine, but the
    # integer program has a time limit, so a loaded machine may stop it early
    assert q["gap_to_lower_bound"] <= gap
    if q["area_optimum_s"] is not None:  # proven optimal over the area's own streets
        assert q["total_s"] <= q["area_optimum_s"] + 0.1
    route = _routes(body)[0]["properties"]
    assert route["length_m"] >= q["street_length_m"]


def test_the_answer_can_be_gpx(base_url):
    r = _execute(base_url, {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"],
                            "date": DAY, "format": "gpx", "store": False, "time_limit_s": 1})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/gpx+xml")
    assert _validate_gpx(r.content).waypoints


@pytest.mark.parametrize(("inputs", "says"), [
    ({"area": {"grids": ["410399999999"]}, "targets": ["sealed_adits"]}, "unknown grid code"),
    ({"area": {"grids": [VILLAGE]}, "targets": ["incidents"], "date": "2000-01-01"},
     "nothing to visit"),
    ({"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"],
      "start": {"point": [113.9, 35.5]}}, "from the nearest road"),
    ({"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"], "travel_mode": "flying"},
     "travel_mode"),
    ({"area": {"grids": [VILLAGE]}, "features": [{"collection": "nope", "id": 1}]},
     "unknown collection"),
    ({"area": {"level": "town"}, "targets": ["greenhouses"], "date": DAY},
     "more than one request plans"),
    ({"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"], "assignee_ids": [999999]},
     "unknown staff id"),
    ({"area": {"bbox": [112.5, 34.2, 112.4, 34.3]}, "targets": ["sealed_adits"]},
     "area.bbox"),
])
def test_bad_inputs_get_a_clear_400(base_url, inputs, says):
    r = _execute(base_url, inputs)
    assert r.status_code == 400, r.text
    assert says in r.json()["description"]
    assert "Traceback" not in r.text


def test_stored_walking_times_are_toblers_on_the_dem(conn, dem_path):
    import shapely
    from gridgeo_plugins.patrol.tobler import dem_sampler, walking_seconds

    rows = conn.execute(
        "SELECT ST_AsBinary(ST_Transform(geom, 4546)), walk_cost, walk_reverse_cost "
        "FROM gridgeo.roads ORDER BY id LIMIT 500").fetchall()
    geoms = shapely.from_wkb([bytes(r[0]) for r in rows])
    forward, backward = walking_seconds(geoms, dem_sampler(dem_path))
    stored = np.array([[r[1], r[2]] for r in rows])
    assert np.allclose(forward, stored[:, 0], rtol=0.01, atol=0.06)  # stored to 0.1 s
    assert np.allclose(backward, stored[:, 1], rtol=0.01, atol=0.06)


def test_in_memory_costs_match_pgrouting(conn):
    from gridgeo_plugins.patrol.network import build_routing_graph
    from gridgeo_plugins.patrol.roads import load_network

    net = load_network(conn, "driving")
    graph, _ = build_routing_graph(net, np.empty((0, 2)))
    ids = conn.execute("SELECT DISTINCT source FROM gridgeo.roads ORDER BY source LIMIT 8")
    vids = [r[0] for r in ids]
    rows = conn.execute(
        "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix("
        "'SELECT id, source, target, cost, reverse_cost FROM gridgeo.roads', %s)",
        (vids,)).fetchall()
    ends = np.unique(conn.execute("SELECT source, target FROM gridgeo.roads").fetchall())
    index = {int(v): i for i, v in enumerate(ends)}
    dist, _ = graph.shortest(np.array([index[v] for v in vids]))
    for start, end, cost in rows:
        assert dist[vids.index(start), index[end]] == pytest.approx(cost, rel=1e-6)


def test_walking_times_are_recomputed_from_the_dem_for_imported_roads(conn, dem_path):
    from gridgeo_plugins.patrol.tobler import store_walk_costs

    before = conn.execute("SELECT id, walk_cost, walk_reverse_cost FROM gridgeo.roads "
                          "ORDER BY id LIMIT 50").fetchall()
    conn.execute("UPDATE gridgeo.roads SET walk_cost = NULL, walk_reverse_cost = NULL "
                 "WHERE id = ANY(%s)", ([r[0] for r in before],))
    assert store_walk_costs(conn, dem_path, only_missing=True) == 50
    after = dict((r[0], r[1:]) for r in conn.execute(
        "SELECT id, walk_cost, walk_reverse_cost FROM gridgeo.roads WHERE id = ANY(%s)",
        ([r[0] for r in before],)))
    for rid, forward, backward in before:
        assert after[rid][0] == pytest.approx(forward, rel=0.01, abs=0.06)
        assert after[rid][1] == pytest.approx(backward, rel=0.01, abs=0.06)


def test_viewers_plan_but_do_not_store_and_anonymous_callers_do_not_plan(base_url, conn):
    inputs = {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"], "date": DAY,
              "travel_mode": "walking"}
    # a plan's stops are the due adits, which are not public
    assert _execute(base_url, inputs, headers={}).status_code == 401
    before = conn.execute("SELECT count(*) FROM gridgeo.patrol_routes").fetchone()
    planned = _execute(base_url, inputs, headers=VIEWER)
    assert planned.status_code == 200 and _routes(planned.json())
    assert planned.json()["stored"] is False and "patrol_routes" in planned.json()["why"]
    assert conn.execute("SELECT count(*) FROM gridgeo.patrol_routes").fetchone() == before
    asked = _execute(base_url, {**inputs, "store": True}, headers=VIEWER)
    assert asked.status_code == 200 and _routes(asked.json())
    assert asked.json()["stored"] is False and "patrol_routes" in asked.json()["why"]
    assert conn.execute("SELECT count(*) FROM gridgeo.patrol_routes").fetchone() == before
