"""考核: figures per grid and per grid worker (grid_figures, worker_figures), checked
against SQL written here on a small town seeded for them: scans this month and last,
an adit inspected late and then on time, incidents filed and resolved on time and late
by two workers, and patrol routes crossing the grid's edge. The overview shows a clicked
grid's figures to everyone and its workers' figures only to a role that may read them.

The town lives in the field town's database (its own town code, so the field town's
grid and counts stay as they are); incidents cannot be deleted, so it stays there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import requests

from gridgeo.db.pool import connect
from tests.conftest import ROLE_KEYS
from tests.field_town import FieldTown
from tests.test_overview import Dom, rendered_dom

ADMIN_KEY = next(k for k, r in ROLE_KEYS.items() if r == "admin")
VIEWER_KEY = next(k for k, r in ROLE_KEYS.items() if r == "viewer")
TOWN, VILLAGE, UNIT = "410399988", "410399988201", "410399988201001"
SQUARE = "MULTIPOLYGON(((111.60 33.60, 111.62 33.60, 111.62 33.62, 111.60 33.62, 111.60 33.60)))"
GREENHOUSES = [f"{VILLAGE}DP{n:04d}" for n in range(1, 5)]  # the fourth is demolished
ADIT = "410399KD9881"
CATEGORY = "f988_rubbish"
W1, W2 = "F988W1", "F988W2"

_TOWN_SQL = f"""
INSERT INTO gridgeo.staff (staff_no, name, role) VALUES
    ('{W1}', '考核甲', 'grid_worker'), ('{W2}', '考核乙', 'grid_worker');
INSERT INTO gridgeo.grids (code, name, level, parent_code, village_code, geom) VALUES
    ('{TOWN}', '考核镇', 'town', NULL, NULL, ST_GeomFromText('{SQUARE}', 4490)),
    ('{TOWN}P01', '考核片区', 'area', '{TOWN}', NULL, ST_GeomFromText('{SQUARE}', 4490)),
    ('{VILLAGE}', '考核村', 'village', '{TOWN}P01', '{VILLAGE}', ST_GeomFromText('{SQUARE}', 4490)),
    ('{UNIT}', '考核村第一网格', 'unit', '{VILLAGE}', '{VILLAGE}',
     ST_GeomFromText('{SQUARE}', 4490));
INSERT INTO gridgeo.grid_assignments (grid_code, staff_id, role)
    SELECT '{UNIT}', id, 'worker' FROM gridgeo.staff WHERE staff_no IN ('{W1}', '{W2}');
INSERT INTO gridgeo.mine_tunnels (adit_no, name, mineral, seal_method, sealed_on, status,
        patrol_frequency_days, responsible_unit, geom) VALUES
    ('{ADIT}', '考核一号洞', 'gold', 'concrete_wall', '2025-01-01', 'sealed', 15, '考核镇',
     ST_SetSRID(ST_MakePoint(111.615, 33.615), 4490));
INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class) VALUES
    ('{CATEGORY}', '考核垃圾', 'assessment rubbish', 'city_appearance');
"""

# M: this month's first moment in the deployment's time zone; T: a time this month
# before now (two hours ago, or just after M early on the 1st).
_MOMENTS = """
CREATE TEMP TABLE moments ON COMMIT DROP AS
SELECT m, greatest(now() - interval '2 hours', m + interval '1 second') AS t
  FROM (SELECT date_trunc('month', now() AT TIME ZONE gridgeo.local_tz())
               AT TIME ZONE gridgeo.local_tz() AS m) x"""

# (inspector, target collection, target, result, when): the scans of the town.
_SCANS = [
    (W1, "greenhouses", GREENHOUSES[0], "in_use", "t"),
    (W1, "greenhouses", GREENHOUSES[0], "in_use", "t + interval '1 minute'"),
    (W1, "greenhouses", GREENHOUSES[1], "in_use", "t + interval '2 minutes'"),
    (W2, "greenhouses", GREENHOUSES[1], "in_use", "t + interval '3 minutes'"),
    (W2, "greenhouses", GREENHOUSES[2], "in_use", "m - interval '3 days'"),  # last month
    (W1, "mine_tunnels", ADIT, "sealed", "m - interval '40 days'"),
    (W1, "mine_tunnels", ADIT, "sealed", "t + interval '4 minutes'"),  # 40 days on: late
    (W2, "mine_tunnels", ADIT, "sealed", "t + interval '5 minutes'"),  # the same day: on time
]

# (filed by, state, reported, accepted, resolved, resolved by)
_INCIDENTS = [
    (W1, "reported", "t", None, None, None),
    (W2, "resolved", "t", "t", "t + interval '10 minutes'", W1),  # on time
    (W2, "resolved", "m - interval '20 days'", "m - interval '20 days'", "t", W2),  # late
    (W1, "reported", "m - interval '10 days'", None, None, None),  # last month
]


def _seed(conn: psycopg.Connection) -> None:
    conn.execute(_TOWN_SQL)
    conn.execute(
        "INSERT INTO gridgeo.greenhouses (gh_no, use, status, geom)"
        " SELECT code, 'vegetables', CASE WHEN n = 4 THEN 'demolished' ELSE 'in_use' END,"
        " ST_Buffer(ST_SetSRID(ST_MakePoint(111.602 + n * 0.002, 33.605), 4490), 0.0002, 2)"
        " FROM unnest(%s::text[]) WITH ORDINALITY AS g(code, n)", (GREENHOUSES,))
    conn.execute(_MOMENTS)
    for staff_no, collection, code, result, when in _SCANS:
        conn.execute(
            "INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code,"
            " inspector_id, inspector, scanned_at, result, geom)"
            f" SELECT gen_random_uuid(), %s, %s, s.id, s.staff_no, {when}, %s,"
            " ST_PointOnSurface(x.geom) FROM moments, gridgeo.staff s,"
            " gridgeo.scan_target(%s, %s) x WHERE s.staff_no = %s",
            (collection, code, result, collection, code, staff_no))
    for filer, state, reported, accepted, resolved, resolver in _INCIDENTS:
        conn.execute("SELECT set_config('gridgeo.staff_no', %s, true)", (filer,))
        conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, state, source,"
            " reported_at, accepted_at, resolved_at, resolved_by, geom)"
            f" SELECT %s, '考核事件', 'yellow', %s, 'grid_worker', {reported},"
            f" {accepted or 'NULL'}, {resolved or 'NULL'}, %s,"
            " ST_SetSRID(ST_MakePoint(111.608, 33.612), 4490) FROM moments",
            (CATEGORY, state, resolver))
    conn.execute("SELECT set_config('gridgeo.staff_no', '', true)")
    # Two routes half inside the grid (east of 111.62 is outside): this month and last.
    conn.execute(
        "INSERT INTO gridgeo.patrol_routes (route_no, name, patrol_kind, travel_mode,"
        " patrol_date, assignee_id, geom)"
        " SELECT r.no, '考核巡查', 'visit_targets', 'walking',"
        " ((CASE WHEN r.no LIKE '%%1' THEN t ELSE m - interval '5 days' END)"
        "   AT TIME ZONE gridgeo.local_tz())::date, s.id,"
        " ST_Multi(ST_GeomFromText('LINESTRING(111.61 33.61, 111.63 33.61)', 4490))"
        " FROM moments, (VALUES ('F988-R1', %s), ('F988-R2', %s)) r(no, staff_no)"
        " JOIN gridgeo.staff s ON s.staff_no = r.staff_no", (W1, W2))


@dataclass(frozen=True)
class Town:
    db: str
    base_url: str


@pytest.fixture(scope="module")
def town(field_town: FieldTown) -> Town:
    with connect(field_town.url) as conn:
        if conn.execute("SELECT 1 FROM gridgeo.grids WHERE code = %s", (UNIT,)).fetchone() is None:
            _seed(conn)
        conn.commit()
    return Town(field_town.url, field_town.base_url)


# ------------------------------------------------------------------ independent SQL

_PERIOD = """
WITH p AS (SELECT %(first)s::date::timestamp AT TIME ZONE gridgeo.local_tz() AS since,
                  (%(last)s::date + 1)::timestamp AT TIME ZONE gridgeo.local_tz() AS until)
"""


def expected(conn: psycopg.Connection, first: str, last: str,
             staff_no: str | None = None) -> dict[str, Any]:
    """The figures of the town's grid (or of one worker in it), counted plainly."""
    params = {"first": first, "last": last, "unit": UNIT, "staff": staff_no}
    mine = "AND s.staff_no = %(staff)s" if staff_no else ""

    def one(query: str) -> Any:
        row = conn.execute(_PERIOD + query, params).fetchone()
        assert row is not None
        return row[0]

    scans = f"""FROM gridgeo.inspections i JOIN gridgeo.staff s ON s.id = i.inspector_id, p
                WHERE i.scanned_at >= p.since AND i.scanned_at < p.until {mine}"""
    # An adit inspection is on time when no more than 15 days (its frequency) passed
    # since the one before it; the first of this town's came 40 days after the last one.
    previous = """(SELECT max(b.scanned_at) FROM gridgeo.inspections b
                    WHERE b.target_code = i.target_code AND b.scanned_at < i.scanned_at)"""
    deadline = ("gridgeo.incident_handle_deadline(c.accepted_at, c.colour, c.grid_code,"
                " c.category_code)")
    filer = ("(SELECT e.staff_no FROM gridgeo.incident_events e WHERE e.incident_id = c.id"
             " ORDER BY e.id LIMIT 1)")
    cases = "FROM gridgeo.incidents c, p WHERE c.grid_code = %(unit)s"
    return {
        "greenhouses": one("SELECT count(*) FROM gridgeo.greenhouses WHERE grid_code ="
                           " %(unit)s AND status <> 'demolished'"),
        "greenhouses_scanned": one(
            f"SELECT count(DISTINCT i.target_code) {scans} AND i.target_collection ="
            " 'greenhouses' AND i.target_code IN (SELECT gh_no FROM gridgeo.greenhouses"
            " WHERE grid_code = %(unit)s)"),
        "adit_inspections": one(f"SELECT count(*) {scans} AND i.target_code = '{ADIT}'"),
        "adit_inspections_on_time": one(
            f"SELECT count(*) {scans} AND i.target_code = '{ADIT}' AND"
            f" (i.scanned_at AT TIME ZONE gridgeo.local_tz())::date - ({previous}"
            "  AT TIME ZONE gridgeo.local_tz())::date <= 15"),
        "incidents_reported": one(
            f"SELECT count(*) {cases} AND c.reported_at >= p.since AND c.reported_at < p.until"
            + (f" AND {filer} = %(staff)s" if staff_no else "")),
        "incidents_resolved": one(
            f"SELECT count(*) {cases} AND c.resolved_at >= p.since AND c.resolved_at < p.until"
            + (" AND c.resolved_by = %(staff)s" if staff_no else "")),
        "incidents_resolved_on_time": one(
            f"SELECT count(*) {cases} AND c.resolved_at >= p.since AND c.resolved_at < p.until"
            f" AND c.resolved_at <= {deadline}"
            + (" AND c.resolved_by = %(staff)s" if staff_no else "")),
        # The part of each route inside the grid: 111.61 to 111.62 °E along 33.61 °N.
        "patrol_km": one(
            "SELECT round(coalesce(sum(ST_Length(ST_GeomFromText("
            "'LINESTRING(111.61 33.61, 111.62 33.61)', 4490)::geography)), 0)::numeric"
            " / 1000, 2) FROM gridgeo.patrol_routes r JOIN gridgeo.staff s"
            " ON s.id = r.assignee_id, p WHERE r.route_no LIKE 'F988-%%' AND r.patrol_date"
            f" BETWEEN %(first)s AND %(last)s {mine}"),
    }


def this_month(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute("SELECT first_day::text, last_day::text FROM gridgeo.figures_this_month()"
                       ).fetchone()
    assert row is not None
    return row[0], row[1]


def figures_of(properties: dict[str, Any]) -> dict[str, Any]:
    keys = ("greenhouses", "greenhouses_scanned", "adit_inspections", "adit_inspections_on_time",
            "incidents_reported", "incidents_resolved", "incidents_resolved_on_time")
    return {**{k: properties[k] for k in keys},
            "patrol_km": round(float(properties["patrol_km"]), 2)}


def _as_numbers(counted: dict[str, Any]) -> dict[str, Any]:
    return {k: round(float(v), 2) if k == "patrol_km" else v for k, v in counted.items()}


# ------------------------------------------------------------------ the collections


def test_grid_figures_this_month_match_sql_and_are_public(town: Town) -> None:
    with connect(town.db) as conn:
        first, last = this_month(conn)
        want = _as_numbers(expected(conn, first, last))
    # What the seeding makes, so a check against empty data cannot pass.
    assert want["greenhouses"] == 3 and want["greenhouses_scanned"] == 2
    assert (want["adit_inspections"], want["adit_inspections_on_time"]) == (2, 1)
    assert (want["incidents_reported"], want["incidents_resolved"],
            want["incidents_resolved_on_time"]) == (2, 2, 1)
    assert 0.9 < want["patrol_km"] < 0.95
    answer = requests.get(f"{town.base_url}/collections/grid_figures/items",
                          params={"code": UNIT, "f": "json"}, timeout=60)
    assert answer.status_code == 200, answer.text
    [feature] = answer.json()["features"]
    assert figures_of(feature["properties"]) == want
    assert feature["properties"]["greenhouse_coverage"] == 66.7
    assert (feature["properties"]["period_start"], feature["properties"]["period_end"]) == (
        first, last)
    assert feature["geometry"]["type"] == "MultiPolygon"


def test_worker_figures_match_sql_and_only_for_the_assessing_roles(town: Town) -> None:
    with connect(town.db) as conn:
        first, last = this_month(conn)
        want = {w: _as_numbers(expected(conn, first, last, w)) for w in (W1, W2)}
    assert want[W1]["greenhouses_scanned"] == 2 and want[W2]["greenhouses_scanned"] == 1
    assert want[W1]["adit_inspections_on_time"] == 0 and want[W2]["adit_inspections_on_time"] == 1
    assert want[W1]["incidents_resolved_on_time"] == 1 and want[W2]["incidents_resolved"] == 1
    url = f"{town.base_url}/collections/worker_figures/items"
    answer = requests.get(url, params={"grid_code": UNIT, "f": "json"}, timeout=60,
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert answer.status_code == 200, answer.text
    rows = {f["properties"]["staff_no"]: f["properties"] for f in answer.json()["features"]}
    assert set(rows) == {W1, W2}
    assert {w: figures_of(rows[w]) for w in rows} == want
    assert rows[W1]["worker_name"] == "考核甲" and rows[W2]["greenhouse_coverage"] == 33.3
    anonymous = requests.get(url, params={"grid_code": UNIT}, timeout=60)
    viewer = requests.get(url, params={"grid_code": UNIT}, timeout=60,
                          headers={"Authorization": f"Bearer {VIEWER_KEY}"})
    assert anonymous.status_code in (401, 404) and viewer.status_code in (403, 404)
    assert "考核甲" not in anonymous.text + viewer.text


def test_any_period_through_the_function(town: Town) -> None:
    """Last month: the scan of the third greenhouse, two cases filed, the other route."""
    with connect(town.db) as conn:
        first, last = conn.execute(
            "SELECT (first_day - interval '1 month')::date::text, (first_day - 1)::text"
            " FROM gridgeo.figures_this_month()").fetchone()  # type: ignore[misc]
        want = _as_numbers(expected(conn, first, last))
        row = conn.execute("SELECT * FROM gridgeo.grid_figures_for(%s, %s) WHERE code = %s",
                           (first, last, UNIT))
        names = [c.name for c in row.description or ()]
        got = dict(zip(names, row.fetchone() or (), strict=True))
    assert (want["greenhouses_scanned"], want["incidents_reported"]) == (1, 2)
    assert want["adit_inspections"] == 0 and want["patrol_km"] > 0.9
    assert figures_of(got) == want


def test_the_process_gives_any_period_and_workers_only_to_the_assessing_roles(
        town: Town) -> None:
    with connect(town.db) as conn:
        first, last = conn.execute(
            "SELECT (first_day - interval '1 month')::date::text, (first_day - 1)::text"
            " FROM gridgeo.figures_this_month()").fetchone()  # type: ignore[misc]
        want = _as_numbers(expected(conn, first, last))
        worker = _as_numbers(expected(conn, first, last, W2))
    url = f"{town.base_url}/processes/assessment-figures/execution"
    asked = {"start": first, "end": last, "grid": UNIT}
    answer = requests.post(url, json={"inputs": asked}, timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()["value"]
    assert (body["level"], body["start"], body["end"]) == ("grid", first, last)
    [row] = body["figures"]
    assert row["code"] == UNIT and figures_of(row) == want and "geom" not in row
    refused = requests.post(url, json={"inputs": {**asked, "level": "worker"}}, timeout=60,
                            headers={"Authorization": f"Bearer {VIEWER_KEY}"})
    assert refused.status_code == 400 and "personal" in refused.json()["description"]
    assert "考核" not in refused.text
    admin = requests.post(url, json={"inputs": {**asked, "level": "worker"}}, timeout=60,
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    rows = {r["staff_no"]: r for r in admin.json()["value"]["figures"]}
    assert set(rows) == {W1, W2} and figures_of(rows[W2]) == worker
    backwards = requests.post(url, json={"inputs": {"start": last, "end": first}}, timeout=60)
    assert backwards.status_code == 400 and "on or after start" in backwards.json()["description"]


# ------------------------------------------------------------------ the overview


def test_overview_shows_a_grids_figures_and_workers_only_to_who_may_see_them(
        town: Town) -> None:
    public = Dom(rendered_dom(f"{town.base_url}/overview#grid={UNIT}"))
    assert public.body.get("data-ready") == "1", public.body.get("data-error")
    assert public.text["grid-fig-ghCoverage"] == "2 / 3 (67%)"
    assert public.text["grid-fig-aditsOnTime"] == "1 / 2"
    assert public.text["grid-fig-reported"] == "2"
    assert public.text["grid-fig-resolvedOnTime"] == "1 / 2"
    assert public.text["grid-fig-patrolKm"].endswith(" km")
    assert "worker-figures" not in public.text and public.count("tr", "worker") == 0

    signed_in = Dom(rendered_dom(f"{town.base_url}/overview#grid={UNIT}&key={ADMIN_KEY}"))
    assert signed_in.body.get("data-ready") == "1", signed_in.body.get("data-error")
    assert signed_in.count("tr", "worker") == 2
    first = signed_in.text[f"worker-{W1}"]
    assert first.startswith("考核甲") and "2 / 3 (67%)" in first and "0 / 1" in first
    assert signed_in.text[f"worker-{W2}"].startswith("考核乙")
