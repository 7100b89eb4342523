"""Case numbers are the server's: refused from API clients, never blocked by a stored
number, and enough of them for a county's busiest day (4 digits, then 5)."""

from __future__ import annotations

import re

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import CATEGORY, FieldTown

CASE_NO = re.compile(r"^[0-9]{6}[0-9]{8}([0-9]{4}|[1-9][0-9]{4})$")


@pytest.fixture()
def base_url(field_town: FieldTown) -> str:
    return field_town.base_url


def _incident(**props: object) -> dict[str, object]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [111.5121, 33.5101]},
            "properties": {"category_code": CATEGORY, "title": "编号测试",
                           "source": "grid_worker", **props}}


def _post(base_url: str, **props: object) -> requests.Response:
    return requests.post(f"{base_url}/collections/incidents/items", json=_incident(**props),
                         headers=EDITOR, timeout=30)


def _following(case_no: str) -> str:
    """The number the counter hands out after ``case_no`` on the same day."""
    n = int(case_no[14:]) + 1
    return case_no[:14] + (f"{n:04d}" if n <= 9999 else str(n))


def test_a_client_chosen_case_number_is_a_400_naming_it(base_url: str) -> None:
    response = _post(base_url, case_no="410399202601010001")
    assert response.status_code == 400
    assert "'case_no'" in response.json()["description"]
    assert _post(base_url).status_code == 201


def test_the_counter_skips_a_stored_number(base_url: str, field_town: FieldTown) -> None:
    first = _post(base_url)
    assert first.status_code == 201, first.text
    taken = _following(first.json()["properties"]["case_no"])
    # What `gridgeo import` may do: bring the next number from another system.
    with psycopg.connect(field_town.url) as conn:
        conn.execute("SET gridgeo.maintenance = 'on'")
        conn.execute("INSERT INTO gridgeo.incidents (case_no, category_code, title, geom)"
                     " VALUES (%s, %s, '导入的事件', ST_SetSRID(ST_MakePoint(111.51, 33.51),"
                     " 4490))", (taken, CATEGORY))
    after = _post(base_url)
    assert after.status_code == 201, after.text
    hotline = requests.post(f"{base_url}/open311/v2/requests.json", headers=EDITOR, timeout=30,
                            data={"service_code": CATEGORY, "lat": "33.5101",
                                  "long": "111.5121", "description": "热线来电"})
    assert hotline.status_code == 201, hotline.text
    numbers = [after.json()["properties"]["case_no"], hotline.json()[0]["service_request_id"]]
    assert taken not in numbers
    if taken[:14] == numbers[0][:14]:  # not across midnight in Shanghai
        assert numbers == [_following(taken), _following(_following(taken))]


def test_twenty_thousand_incidents_in_one_day(field_conn: psycopg.Connection) -> None:
    conn = field_conn
    day = str(conn.execute("SELECT gridgeo.next_case_no()").fetchone()[0])[:14]  # type: ignore[index]
    conn.execute("UPDATE gridgeo.incident_case_counters SET last = 9998 WHERE prefix = %s",
                 (day,))
    crossing = [conn.execute("SELECT gridgeo.next_case_no()").fetchone()[0] for _ in range(2)]  # type: ignore[index]
    assert crossing == [f"{day}9999", f"{day}10000"]
    # The day's 20,000 incidents, numbered in SQL (their triggers are beside the point and
    # off in this rolled-back transaction): the CHECK and UNIQUE take them all ...
    conn.execute("ALTER TABLE gridgeo.incidents DISABLE TRIGGER USER")
    stored = conn.execute(
        "INSERT INTO gridgeo.incidents (case_no, category_code, title, colour, geom)"
        " SELECT %s || gridgeo.case_no_sequence(g), %s, '第' || g || '件', 'yellow',"
        "        ST_SetSRID(ST_MakePoint(111.51, 33.51), 4490)"
        "   FROM generate_series(1, 20000) AS g WHERE NOT EXISTS (SELECT FROM"
        "        gridgeo.incidents i WHERE i.case_no = %s || gridgeo.case_no_sequence(g))",
        (day, CATEGORY, day)).rowcount
    assert stored > 19000  # the rest are the field town's own incidents of today
    numbers = [r[0] for r in conn.execute(
        "SELECT case_no FROM gridgeo.incidents WHERE case_no LIKE %s", (day + "%",))]
    assert len(numbers) == 20000 and all(CASE_NO.match(n) for n in numbers)
    conn.execute("ALTER TABLE gridgeo.incidents ENABLE TRIGGER USER")
    # ... and the counter goes on after them, through the ordinary insert.
    row = conn.execute("INSERT INTO gridgeo.incidents (category_code, title, geom) VALUES"
                       " (%s, '第两万零一件', ST_SetSRID(ST_MakePoint(111.51, 33.51), 4490))"
                       " RETURNING case_no", (CATEGORY,)).fetchone()
    assert row == (f"{day}20001",)
    # Only one spelling of each sequence number.
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        conn.execute("INSERT INTO gridgeo.incidents (case_no, category_code, title, geom)"
                     " VALUES (%s, %s, 'x', ST_SetSRID(ST_MakePoint(111.51, 33.51), 4490))",
                     (f"{day}00001", CATEGORY))
