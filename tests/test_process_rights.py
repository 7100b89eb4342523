"""Processes that store what they compute need the write right on what they store.

Every process × role × store switch, on the demo town's server, synchronously and on
small inputs: without the right the process still answers, stores nothing and says so.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import EDITOR, ROLE_KEYS, fetch_row
from tests.test_security import token

VILLAGE = "410399101218"  # the mine area (tests/test_patrol_process.py)
DAY = "2026-11-21"


def _key(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == role)}"}


HEADERS = {
    "anonymous": lambda: {},
    "viewer": lambda: _key("viewer"),
    "grid_worker": lambda: token("rights-worker", ("grid_worker",)),
    "police": lambda: token("rights-police", ("police",)),
    "gis_editor": lambda: EDITOR,
    "admin": lambda: _key("admin"),
}
ROLES = tuple(HEADERS)
WRITERS = {"gis_editor", "admin"}  # of grid_police_crosswalk and patrol_routes by default
# (grid workers write patrol_routes too, inside their own grids: this one has none)

# (process, store switch asked, role) -> stored. None: the process stores nothing, so
# its answer says nothing about storing. The literal table the issue asks for.
EXPECTED: dict[tuple[str, bool | None, str], bool | None] = {
    **{("police-grid-overlap", True, r): r in WRITERS for r in ROLES},
    **{("police-grid-overlap", False, r): False for r in ROLES},
    **{("patrol-route", True, r): r in WRITERS for r in ROLES},
    **{("patrol-route", False, r): False for r in ROLES},
    **{("grid-topology", None, r): None for r in ROLES},
    **{("incident-report", None, r): None for r in ROLES},
}
assert EXPECTED[("police-grid-overlap", True, "viewer")] is False
assert EXPECTED[("patrol-route", True, "admin")] is True
# patrol-route is for staff (its stops are due adits, not public): anonymous callers get 401
NOT_RUN = {("patrol-route", True, "anonymous"), ("patrol-route", False, "anonymous")}


@pytest.fixture(scope="module")
def small_inputs(demo_db_url: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(demo_db_url) as conn:
        return _small_inputs(conn)


def _small_inputs(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    units = [r[0] for r in conn.execute(
        "SELECT code FROM gridgeo.grids WHERE level = 'unit' AND kind = 'basic'"
        " AND code LIKE %s ORDER BY code LIMIT 2", (VILLAGE + "%",))]
    greenhouses = [r[0] for r in conn.execute(
        "SELECT id FROM gridgeo.greenhouses WHERE grid_code LIKE %s ORDER BY gh_no LIMIT 2",
        (VILLAGE + "%",))]
    assert len(units) == 2 and len(greenhouses) == 2
    return {
        "police-grid-overlap": {"grid_codes": units},
        "patrol-route": {"area": {"grids": [VILLAGE]}, "date": DAY, "time_limit_s": 0.2,
                         "features": [{"collection": "greenhouses", "id": i}
                                      for i in greenhouses]},
        "grid-topology": {"level": "village"},
        "incident-report": {"area": VILLAGE, "format": "json"},
    }


def _switch(process: str, store: bool | None) -> dict[str, Any]:
    if store is None:
        return {}
    return {"write_crosswalk" if process == "police-grid-overlap" else "store": store}


def _crosswalk(conn: psycopg.Connection) -> tuple[Any, ...]:
    """The whole crosswalk, row ids and times included: any rewrite changes it."""
    return fetch_row(conn, "SELECT count(*), md5(string_agg(c::text, '|' ORDER BY c.id))"
                     " FROM gridgeo.grid_police_crosswalk c")


def _routes(conn: psycopg.Connection) -> int:
    return int(fetch_row(conn, "SELECT count(*) FROM gridgeo.patrol_routes")[0])


@pytest.mark.parametrize(("process", "store", "role"), list(EXPECTED))
def test_process_stores_only_with_the_write_right(base_url: str, conn: psycopg.Connection,
                                                  small_inputs: dict[str, dict[str, Any]],
                                                  process: str, store: bool | None,
                                                  role: str) -> None:
    expected = EXPECTED[(process, store, role)]
    crosswalk, routes = _crosswalk(conn), _routes(conn)
    inputs = {**small_inputs[process], **_switch(process, store)}
    response = requests.post(f"{base_url}/processes/{process}/execution",
                             json={"inputs": inputs}, headers=HEADERS[role](), timeout=60)
    if (process, store, role) in NOT_RUN:
        assert response.status_code == 401 and _routes(conn) == routes
        return
    assert response.status_code == 200, response.text
    body = response.json()
    changed = (_crosswalk(conn) != crosswalk, _routes(conn) != routes)
    if process == "police-grid-overlap":
        assert changed == (bool(expected), False)
    elif process == "patrol-route":
        assert changed == (False, bool(expected))
        assert body["stored"] is expected
    else:
        assert changed == (False, False) and "why" not in body
    refused = store is True and not expected
    assert ("why" in body) is refused
    if refused:
        assert body["stored"] is False
        assert "nothing was stored" in body["why"] and (
            "grid_police_crosswalk" in body["why"] or "patrol_routes" in body["why"])


def test_async_execution_is_held_to_the_same_rule(base_url: str, conn: psycopg.Connection,
                                                   small_inputs: dict[str, dict[str, Any]]
                                                   ) -> None:
    """A queued job runs in a worker as its caller: a viewer's job stores nothing either."""
    before = _crosswalk(conn)
    started = requests.post(f"{base_url}/processes/police-grid-overlap/execution",
                            json={"inputs": small_inputs["police-grid-overlap"]},
                            headers={"Prefer": "respond-async", **_key("viewer")}, timeout=60)
    assert started.status_code == 201, started.text
    location = started.headers["Location"]
    deadline, status = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        status = requests.get(location, params={"f": "json"}, headers=_key("viewer"),
                              timeout=30).json()
        if status["status"] in ("successful", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "successful", status
    result = requests.get(f"{location}/results", params={"f": "json"}, headers=_key("viewer"),
                          timeout=30).json()
    assert result["stored"] is False and "grid_police_crosswalk" in result["why"]
    assert _crosswalk(conn) == before
