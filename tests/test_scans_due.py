"""Due lists: greenhouses not scanned this month, adits past their patrol frequency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import ADIT, GREENHOUSE


@pytest.fixture()
def conn(request: pytest.FixtureRequest) -> psycopg.Connection:
    """This module's tests run against the field town's database ..."""
    return request.getfixturevalue("field_conn")  # type: ignore[no-any-return]


@pytest.fixture()
def base_url(request: pytest.FixtureRequest) -> str:
    """... and its server."""
    return str(request.getfixturevalue("field_town").base_url)


@pytest.fixture()
def field_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("field_town").url)


def greenhouse_due(conn: psycopg.Connection, scanned: str | None, day: str) -> bool:
    conn.execute("SET TIME ZONE 'UTC'")  # the answer must not depend on the session's zone
    conn.execute("UPDATE gridgeo.greenhouses SET last_scanned_at = %s WHERE gh_no = %s",
                 (scanned, GREENHOUSE))
    row = conn.execute("SELECT count(*) FROM gridgeo.greenhouses_due_on(%s) WHERE gh_no = %s",
                       (day, GREENHOUSE)).fetchone()
    return row == (1,)


@pytest.mark.parametrize("scanned,day,due", [
    (None, "2026-11-15", True),
    ("2026-11-02T10:00:00+08:00", "2026-11-15", False),
    ("2026-10-30T10:00:00+08:00", "2026-11-15", True),
    ("2026-10-31T17:00:00Z", "2026-11-15", False),  # 1 November 01:00 in Shanghai
    ("2026-10-31T15:59:00Z", "2026-11-15", True),   # 31 October 23:59 in Shanghai
    ("2026-11-30T15:59:00Z", "2026-12-01", True),   # 30 November in Shanghai: last month
])
def test_greenhouses_due_by_shanghai_month(conn: psycopg.Connection,
                                           scanned: str | None, day: str, due: bool) -> None:
    assert greenhouse_due(conn, scanned, day) is due


@pytest.mark.parametrize("inspected,day,due", [
    (None, "2025-01-15", False),                     # sealed 2025-01-01, every 15 days
    (None, "2025-01-16", True),
    ("2026-11-01T09:00:00+08:00", "2026-11-15", False),
    ("2026-11-01T09:00:00+08:00", "2026-11-16", True),
    ("2026-10-31T16:30:00Z", "2026-11-15", False),   # 1 November 00:30 in Shanghai
])
def test_adits_due_after_their_patrol_frequency(conn: psycopg.Connection,
                                                inspected: str | None, day: str,
                                                due: bool) -> None:
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("UPDATE gridgeo.mine_tunnels SET last_inspected_at = %s WHERE adit_no = %s",
                 (inspected, ADIT))
    row = conn.execute("SELECT count(*) FROM gridgeo.mine_tunnels_due_on(%s) WHERE adit_no = %s",
                       (day, ADIT)).fetchone()
    assert row == (1 if due else 0,)


def test_a_scan_takes_the_adit_off_todays_list(base_url: str,
                                               field_url: str) -> None:
    url = f"{base_url}/collections/mine_tunnels_due/items"
    with psycopg.connect(field_url) as setup:  # committed: the server must see it
        setup.execute("UPDATE gridgeo.mine_tunnels SET last_inspected_at = now()"
                      " - interval '40 days' WHERE adit_no = %s", (ADIT,))
    due = requests.get(url, params={"adit_no": ADIT}, timeout=30,  # adits: staff only
                       headers={"Accept": "application/geo+json", **EDITOR}).json()
    assert due["numberMatched"] == 1
    assert due["features"][0]["properties"]["days_overdue"] >= 25
    scan = {"scan_uuid": str(uuid.uuid4()), "target": f"http://x/q/k/{ADIT}",
            "position": [111.515, 33.515], "scanned_at": datetime.now(UTC).isoformat(),
            "result": "sealed"}
    assert requests.post(f"{base_url}/scans", json=scan, headers=EDITOR,
                         timeout=30).status_code == 201
    after = requests.get(url, params={"adit_no": ADIT}, timeout=30,
                         headers={"Accept": "application/geo+json", **EDITOR}).json()
    assert after["numberMatched"] == 0
