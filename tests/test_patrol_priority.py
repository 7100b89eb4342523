"""Patrols that cannot visit everything keep what matters most, use the time they are
given, draw the walk to each adit, speak the request's language and the deployment's
time zone (demo town, seed 42)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import requests
import shapely
from gridgeo_plugins.patrol.priority import Priority
from gridgeo_plugins.patrol.solvers import SOLVERS, VisitProblem, repair

from tests.conftest import EDITOR

DAY = "2026-11-20"
VILLAGE = "410399101218"  # the mine area: most adits due


def _execute(base_url: str, inputs: dict, **kw) -> requests.Response:
    return requests.post(f"{base_url}/processes/patrol-route/execution",
                         json={"inputs": {"store": False, **inputs}}, timeout=60,
                         headers=EDITOR, **kw)


def test_a_far_stop_long_overdue_outweighs_two_near_ones_due_yesterday():
    # Start and end at 0; two stops 100 s away, one 300 s away; 700 s allow the far one
    # alone or the two near ones, never all three.
    matrix = np.array([[0, 0, 100, 100, 300], [0, 0, 100, 100, 300],
                       [100, 100, 0, 10, 390], [100, 100, 10, 0, 390],
                       [300, 300, 390, 390, 0]], float)
    weights = np.array([Priority(1).weight, Priority(1).weight, Priority(3583).weight])
    problem = VisitProblem(matrix, np.zeros(3), np.zeros(3), np.full(3, np.inf), 1, 700,
                           weights)
    plan = repair(problem, SOLVERS["pyvrp"].solve(problem, 0.5))
    assert plan.routes == [[2]] and plan.dropped == [0, 1]
    alike = VisitProblem(matrix, np.zeros(3), np.zeros(3), np.full(3, np.inf), 1, 700)
    assert repair(alike, SOLVERS["pyvrp"].solve(alike, 0.5)).dropped == [2]  # count wins


@pytest.fixture(scope="module")
def tight_patrol(base_url, demo_db_url):
    """One walking patrol of 1 h to the mine area's due adits, searching for 2 s."""
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        overdue: dict[str, int] = dict(conn.execute(
            "SELECT t.adit_no, t.days_overdue FROM gridgeo.mine_tunnels_due_on(%s) t, "
            "gridgeo.grids g WHERE g.code = %s AND ST_Intersects(t.geom, g.geom)",
            (DAY, VILLAGE)).fetchall())
    r = _execute(base_url, {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"],
                            "date": DAY, "start_time": "08:00", "max_hours": 1,
                            "travel_mode": "walking", "time_limit_s": 2})
    assert r.status_code == 200, r.text
    return r.json(), overdue


def test_the_most_overdue_reachable_adit_is_kept(tight_patrol):
    body, overdue = tight_patrol
    kept = [s["code"] for f in body["features"] if f["geometry"]["type"] == "LineString"
            for s in f["properties"]["stops"]]
    unreachable = {d["code"] for d in body["dropped"]
                   if any(w in d["reason"] for w in ("无法往返", "路网", "时间窗"))}
    assert kept and len(body["dropped"]) > 10  # too tight for every stop
    reachable = {code: days for code, days in overdue.items() if code not in unreachable}
    most = max(reachable, key=lambda code: reachable[code])
    assert most in kept
    assert min(overdue[c] for c in kept) >= 0
    left_for_work = [d for d in body["dropped"] if "工作量" in d["reason"]]
    assert left_for_work and all("逾期" in d["reason"] or "到期" in d["reason"]
                                 for d in left_for_work)


def test_a_given_time_limit_is_used_whole(tight_patrol):
    body, _ = tight_patrol
    assert body["search"]["stopped_by"] == "time limit"
    assert 1.8 <= body["search"]["runtime_s"] <= 2.6


def test_walking_tracks_reach_each_adit_and_texts_follow_the_language(base_url):
    inputs = {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"], "date": DAY,
              "max_hours": 2, "travel_mode": "walking"}
    body = _execute(base_url, inputs, params={"lang": "en"}).json()
    assert body["language"] == "en"
    route = next(f for f in body["features"] if f["geometry"]["type"] == "LineString")
    track = shapely.LineString(route["geometry"]["coordinates"])
    stops = route["properties"]["stops"]
    assert any(s["access_m"] > 5 for s in stops)
    for s in stops:  # the waypoint lies on the track, however far the adit is from the road
        assert track.distance(shapely.Point(s["lon"], s["lat"])) < 1e-6
        assert s["task"].startswith("inspect sealed adit")
    assert route["properties"]["name"].endswith("patrol 1")
    zh = _execute(base_url, {**inputs, "language": "zh"}, params={"lang": "en"}).json()
    zh_route = next(f for f in zh["features"] if f["geometry"]["type"] == "LineString")
    assert zh_route["properties"]["name"].endswith("巡查路线1")
    assert all(s["task"].startswith("巡查封闭矿洞") for s in zh_route["properties"]["stops"])


def test_a_deployment_in_arizona_starts_and_counts_days_on_its_own_clock(conn):
    from gridgeo_plugins.patrol.plan import _start_at
    from gridgeo_plugins.patrol.process import parse_request

    conn.execute("UPDATE gridgeo.deployment SET value = 'America/Phoenix' "
                 "WHERE key = 'time_zone'")
    req = parse_request(conn, {"area": {"grids": [VILLAGE]}, "targets": ["sealed_adits"],
                               "date": DAY, "start_time": "08:00"})
    start = dt.datetime.fromisoformat(_start_at(req))
    assert start.astimezone(dt.UTC).strftime("%H:%MZ") == "15:00Z"
    # 25 hours apart, Kiritimati and Pago Pago never share a date: the case number's day
    # is the local one in each.
    days = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        conn.execute("UPDATE gridgeo.deployment SET value = %s WHERE key = 'time_zone'",
                     (zone,))
        case_no, now = conn.execute("SELECT gridgeo.next_case_no(), now()").fetchone()
        from zoneinfo import ZoneInfo

        assert case_no[6:14] == now.astimezone(ZoneInfo(zone)).strftime("%Y%m%d")
        days[zone] = case_no[6:14]
    assert days["Pacific/Kiritimati"] != days["Pacific/Pago_Pago"]


def test_a_time_zone_postgresql_does_not_know_is_refused(conn):
    import psycopg

    with pytest.raises(psycopg.Error, match="not a time zone name"):
        conn.execute("UPDATE gridgeo.deployment SET value = 'Mars/Olympus' "
                     "WHERE key = 'time_zone'")
