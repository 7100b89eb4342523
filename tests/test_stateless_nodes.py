"""Stateless web nodes (#21): two `gridgeo serve` nodes with homes of their own on one
database. A job, an attachment upload and a scheduled task each happen once, and each
is visible from both nodes: nothing one node keeps on its disk is needed by the other."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from gridgeo.db.pool import connect
from tests.conftest import EDITOR, ROLE_KEYS, empty_database, free_port, server_env
from tests.field_town import CATEGORY, UNIT, ensure_field_town
from tests.server_processes import wait_until
from tests.test_attachments import photo, upload

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
LEADER = "T977L2"
CLI = [sys.executable, "-m", "gridgeo.cli"]


@dataclass(frozen=True)
class Node:
    url: str
    home: Path


@dataclass(frozen=True)
class Deployment:
    database: str
    nodes: tuple[Node, Node]
    overdue_case: int


def _town(url: str) -> int:
    """The field town with a grid leader, and a case unaccepted for 5 hours (past its
    4-hour acceptance: the escalation sweep, a scheduled task, escalates it once)."""
    with connect(url) as conn:
        ensure_field_town(conn)
        conn.execute("INSERT INTO gridgeo.staff (staff_no, name, role, department_code)"
                     " VALUES (%s, '田野网格长', 'grid_leader', 'T977')", (LEADER,))
        conn.execute("INSERT INTO gridgeo.grid_assignments (grid_code, staff_id, role)"
                     " SELECT %s, id, 'leader' FROM gridgeo.staff WHERE staff_no = %s",
                     (UNIT, LEADER))
        case = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)"
            " VALUES (%s, '井盖缺失', 'yellow', now() - interval '5 hours',"
            " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id",
            (CATEGORY,)).fetchone()[0]  # type: ignore[index]
        conn.commit()
    return int(case)


def _node_env(url: str, home: Path, port: int) -> dict[str, str]:
    env = server_env(url, home, port)
    env.update(GRIDGEO_WORKERS="1", GRIDGEO_JOB_WORKERS="1", GRIDGEO_SCHEDULER="true",
               GRIDGEO_SCHEDULER_TICK_SECONDS="0.2", GRIDGEO_ESCALATION_SWEEP_SECONDS="1",
               GRIDGEO_ATTACHMENT_STORE="database")
    return env


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with empty_database("stateless") as url:
        case = _town(url)
        envs = [_node_env(url, tmp_path_factory.mktemp(f"node-{n}"), free_port())
                for n in "ab"]

        try:
            with ThreadPoolExecutor(max_workers=2) as pool:  # both at once: half the wait
                list(pool.map(_serve, envs))
            nodes = tuple(Node(f"http://127.0.0.1:{e['GRIDGEO_PORT']}", Path(e["GRIDGEO_HOME"]))
                          for e in envs)
            yield Deployment(url, nodes, case)  # type: ignore[arg-type]
        finally:
            running = {pid for env in envs for pid in _processes(Path(env["GRIDGEO_HOME"]))}
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(_stop, envs))
            # `gridgeo stop` stops a node's processes all at once and waits for each.
            assert not [pid for pid in running if Path(f"/proc/{pid}").exists()]


def _serve(env: dict[str, str]) -> None:
    subprocess.run([*CLI, "serve", "--background"], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _stop(env: dict[str, str]) -> None:
    subprocess.run([*CLI, "stop"], env=env, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _processes(home: Path) -> set[int]:
    """A node's processes: those its pid files name (web server, job workers and their
    supervisor, scheduler) and their children (gunicorn's worker)."""
    named = {int(pid) for name in ("server.pid", "worker-supervisor.pid",
                                   "worker-scheduler.pid", "job-workers.pids")
             if (home / name).exists() for pid in (home / name).read_text().split()}
    return named | {pid for pid, parent in _parents().items() if parent in named}


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the fields after the command name: state, parent pid, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def test_an_upload_to_one_node_is_served_by_the_other(deployment: Deployment) -> None:
    first, second = deployment.nodes
    sent = photo(size=(320, 240))
    path = f"/collections/incidents/items/{deployment.overdue_case}/attachments"
    created = upload(first.url + path, sent)
    assert created.status_code == 201, created.text
    attachment = created.headers["Location"].removeprefix(first.url)
    for node in deployment.nodes:
        served = requests.get(f"{node.url}{attachment}", headers=ADMIN, timeout=30)
        assert served.status_code == 200, served.text
        assert served.content == sent  # the original, byte for byte, from either node
    listed = requests.get(second.url + path, headers=EDITOR, timeout=30).json()
    assert [a["length"] for a in listed["attachments"]] == [len(sent)]
    # Nothing of it is on either node's disk: it is one row in the database.
    assert not any((n.home / "data" / "attachments").exists() for n in deployment.nodes)
    with psycopg.connect(deployment.database) as conn:
        stored = conn.execute("SELECT count(*) FROM gridgeo.attachment_blobs WHERE key ~"
                              " '^[0-9a-f]{64}$'").fetchone()
    assert stored == (1,)


def _finished(node: Node, location: str) -> dict[str, Any]:
    status: dict[str, Any] = {}

    def done() -> bool:
        nonlocal status
        status = requests.get(location, params={"f": "json"}, timeout=30).json()
        return status["status"] in ("successful", "failed")

    wait_until(done, f"the job {location} did not finish", 60)
    return status


def test_a_job_queued_on_one_node_runs_once_and_both_see_it(deployment: Deployment) -> None:
    first, second = deployment.nodes
    inputs = {"inputs": {"level": "unit"}}
    started = requests.post(f"{first.url}/processes/grid-topology/execution", json=inputs,
                            headers={"Prefer": "respond-async"}, timeout=60)
    assert started.status_code == 201, started.text
    job = started.headers["Location"].rsplit("/", 1)[1]
    status = _finished(second, f"{second.url}/jobs/{job}")  # asked of the other node
    assert status["status"] == "successful", status
    results = [requests.get(f"{n.url}/jobs/{job}/results", params={"f": "json"},
                            timeout=60) for n in deployment.nodes]
    assert [r.status_code for r in results] == [200, 200]
    assert results[0].json() == results[1].json()
    # Two job workers (one a node) listened; exactly one of them ran it.
    logs = "".join((n.home / "worker.log").read_text() for n in deployment.nodes)
    assert logs.count(f"running job {job}") == 1, logs[-3000:]


def test_a_scheduled_task_runs_once_across_both_nodes(deployment: Deployment) -> None:
    def swept() -> bool:
        with psycopg.connect(deployment.database) as conn:
            done = conn.execute("SELECT count(*) FROM gridgeo.scheduled_runs WHERE task ="
                                " 'incident-escalation' AND finished IS NOT NULL").fetchone()
        return done is not None and done[0] >= 4

    wait_until(swept, "four escalation sweeps did not finish", 30)
    with connect(deployment.database) as conn:
        events = conn.execute("SELECT kind, actor FROM gridgeo.incident_events"
                              " WHERE incident_id = %s AND kind IN ('warning', 'escalation')",
                              (deployment.overdue_case,)).fetchall()
    # Two schedulers ticked every 0.2 s over several 1-second periods: one escalation.
    assert events == [("escalation", "scheduler")]
    item = f"/collections/incidents/items/{deployment.overdue_case}"
    seen = [requests.get(n.url + item, params={"f": "json"}, headers=ADMIN, timeout=30)
            for n in deployment.nodes]
    assert [r.json()["properties"]["escalation_level"] for r in seen] == [1, 1]


def test_the_database_store_keeps_every_store_key(demo_db_url: str) -> None:
    """Attachments' keys and other users' of the store (stored reports: ``<sha>.report``);
    each call safe to repeat, as the store protocol asks."""
    from gridgeo_plugins.attachments.dbstore import DatabaseStore

    store, digest = DatabaseStore(), hashlib.sha256(b"stateless").hexdigest()
    for key in (digest, f"{digest}.thumbnail", f"{digest}.report"):
        store.put(key, b"first")
        store.put(key, b"first")
        assert store.get(key) == b"first"
        store.delete(key)
        store.delete(key)
        assert store.get(key) is None
