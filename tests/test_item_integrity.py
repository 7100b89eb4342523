"""Writes that cannot be lost: one snapshot per ETag, If-Match required where it matters,
single items found through the primary key.

Runs on the field town's database and server (gunicorn, 2 workers), so the demo town
stays as generated for every other test.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import psycopg
import pytest
import requests
from psycopg import sql

from gridgeo.items.write import WriteTarget, lock_statement
from gridgeo.provider.columns import Column, TableInfo
from gridgeo.provider.crs import output_crs
from gridgeo.provider.query import FeatureQuery
from tests.conftest import EDITOR
from tests.field_town import CATEGORY, FieldTown

INCIDENTS = "/collections/incidents/items"


@pytest.fixture()
def base_url(field_town: FieldTown) -> str:
    return field_town.base_url


def _incident(**props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [111.5121, 33.5101]},
            "properties": {"category_code": CATEGORY, "title": "完整性测试",
                           "source": "grid_worker", **props}}


def _create(base_url: str) -> requests.Response:
    response = requests.post(base_url + INCIDENTS, json=_incident(), headers=EDITOR, timeout=30)
    assert response.status_code == 201, response.text
    return response


def _append_until(url: str, writer: int, stop_at: float, accepted: list[str]) -> None:
    """GET, append a token of its own, PATCH with the ETag read; again on 412."""
    session = requests.Session()
    for attempt in range(10_000):
        if time.monotonic() >= stop_at:
            return
        read = session.get(url, headers=EDITOR, timeout=30)
        assert read.status_code == 200, read.text
        token = f"<{writer}.{attempt}>"
        text = (read.json()["properties"]["description"] or "") + token
        written = session.patch(url, json={"properties": {"description": text}},
                                headers={**EDITOR, "If-Match": read.headers["ETag"]},
                                timeout=30)
        assert written.status_code in (200, 412), written.text
        if written.status_code == 200:
            accepted.append(token)


def test_concurrent_if_match_writers_lose_no_accepted_write(base_url: str) -> None:
    url = f"{base_url}{INCIDENTS}/{_create(base_url).json()['id']}"
    accepted: list[str] = []
    stop_at = time.monotonic() + 5
    writers = [threading.Thread(target=_append_until, args=(url, n, stop_at, accepted))
               for n in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    final = requests.get(url, headers=EDITOR, timeout=30).json()["properties"]["description"]
    kept = re.findall(r"<\d+\.\d+>", final or "")
    assert len(accepted) >= 8
    assert sorted(kept) == sorted(accepted)


def test_racing_identical_transitions_one_200_the_rest_412(base_url: str,
                                                          field_town: FieldTown) -> None:
    created = _create(base_url)
    url, tag = f"{base_url}{INCIDENTS}/{created.json()['id']}", created.headers["ETag"]
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def accept() -> None:
        barrier.wait(30)
        codes.append(requests.patch(url, json={"properties": {"state": "accepted"}},
                                    headers={**EDITOR, "If-Match": tag}, timeout=30).status_code)

    clients = [threading.Thread(target=accept) for _ in range(8)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(60)
    assert sorted(codes) == [200] + [412] * 7, codes
    with psycopg.connect(field_town.url) as conn:
        events = conn.execute("SELECT to_state FROM gridgeo.incident_events"
                              " WHERE incident_id = %s ORDER BY id",
                              (created.json()["id"],)).fetchall()
    assert events == [("reported",), ("accepted",)]


def test_changes_without_if_match_are_a_428_and_change_nothing(base_url: str) -> None:
    created = _create(base_url)
    url = f"{base_url}{INCIDENTS}/{created.json()['id']}"
    patched = requests.patch(url, json={"properties": {"title": "无条件"}}, headers=EDITOR,
                             timeout=30)
    assert patched.status_code == 428, patched.text
    assert "If-Match" in patched.json()["description"]
    anything = requests.put(url, json=_incident(title="无条件"),
                            headers={**EDITOR, "If-Match": "*"}, timeout=30)
    assert anything.status_code == 428 and "names no version" in anything.text
    now = requests.get(url, headers=EDITOR, timeout=30)
    assert now.headers["ETag"] == created.headers["ETag"]
    assert now.json()["properties"]["title"] == "完整性测试"


def test_write_answers_carry_the_version_they_wrote(base_url: str) -> None:
    created = _create(base_url)
    url = f"{base_url}{INCIDENTS}/{created.json()['id']}"
    assert created.headers["Location"] == url
    read = requests.get(url, headers=EDITOR, timeout=30)
    assert read.headers["ETag"] == created.headers["ETag"]
    assert read.json()["properties"] == created.json()["properties"]
    patched = requests.patch(url, json={"properties": {"description": "第二版"}},
                             headers={**EDITOR, "If-Match": read.headers["ETag"]}, timeout=30)
    assert patched.status_code == 200, patched.text
    assert patched.headers["ETag"] != read.headers["ETag"]
    assert patched.json()["properties"]["description"] == "第二版"
    again = requests.get(url, headers=EDITOR, timeout=30)
    assert (again.headers["ETag"], again.json()["properties"]) == (
        patched.headers["ETag"], patched.json()["properties"])


def test_a_malformed_id_is_a_404(base_url: str) -> None:
    for item in ("abc", "1.5", "99999999999999999999", "%20"):
        response = requests.get(f"{base_url}{INCIDENTS}/{item}", headers=EDITOR, timeout=30)
        assert response.status_code == 404, (item, response.text)
        written = requests.patch(f"{base_url}{INCIDENTS}/{item}",
                                 json={"properties": {"title": "x"}},
                                 headers={**EDITOR, "If-Match": '"1"'}, timeout=30)
        assert written.status_code == 404, (item, written.text)


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _plan_nodes(child))]


def _scans(conn: psycopg.Connection, stmt: sql.Composable, params: list[Any]) -> set[tuple]:
    explained = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + stmt, params).fetchone()
    assert explained is not None
    return {(n["Node Type"], n.get("Relation Name"), n.get("Index Name"))
            for n in _plan_nodes(explained[0][0]["Plan"])}


def test_single_item_statements_use_the_primary_key(field_town: FieldTown) -> None:
    """At the field town's size a table scan may rightly win, so the planner is told to
    avoid one: with the id compared as text it has no other way and still scans."""
    query = FeatureQuery(source="incidents_view", id_field="id", geometry_column="geom",
                         columns=["id", "title", "state"], output=output_crs(None),
                         id_type="integer")
    target = WriteTarget("incidents", "incidents", "id", "geom",
                         TableInfo({"id": Column("id", "integer")}, frozenset(), "POINT", {}),
                         frozenset())
    # As the app's role, with a request identity, so row-level security applies.
    with psycopg.connect(field_town.url) as conn:
        conn.execute("SELECT set_config('gridgeo.roles', 'anonymous,viewer', true)")
        conn.execute("SET LOCAL enable_seqscan = off")
        read = _scans(conn, *query.single("1", "incidents"))
        lock = _scans(conn, lock_statement(target), ["1"])
    for nodes in (read, lock):
        assert not any(kind == "Seq Scan" and table == "incidents" for kind, table, _ in nodes)
        assert any(index == "incidents_pkey" for _, _, index in nodes), nodes
