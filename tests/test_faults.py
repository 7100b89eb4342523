"""A database crash during writes: kill -9 of the postmaster of a cluster made for the test.

The cluster is the test's own (its own GRIDGEO_HOME and port): other fixtures hold
connections to the suite's cluster. Every create carries an Idempotency-Key; afterwards
every create whose answer was lost or a 5xx is sent again with its key, and every
acknowledged create must be there exactly once. Of two job workers, one killed on the
way is started again by `gridgeo serve`'s supervisor, the other reconnects by itself,
and a job queued after the outage runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from gridgeo import server
from gridgeo.db.cluster import cluster_from
from gridgeo.db.migrate import apply_migrations, collect_migrations
from gridgeo.db.pool import connect
from gridgeo.plugins import get_plugin_manager
from gridgeo.settings import Settings
from tests.conftest import EDITOR, EDITOR_KEY, free_port
from tests.field_town import CATEGORY, CENTRE, ensure_field_town

CLI = [sys.executable, "-m", "gridgeo.cli"]


@dataclass(frozen=True)
class Deployment:
    home: Path
    env: dict[str, str]
    base_url: str
    database_url: str

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 or not check, f"gridgeo {' '.join(args)}: {done.stderr}"
        return done

    def postmaster_pid(self) -> int:
        return int((self.home / "pg" / "data" / "postmaster.pid").read_text().split()[0])

    def worker_pids(self) -> list[int]:
        path = self.home / "job-workers.pids"
        return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.fixture()
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A private cluster (`gridgeo db start`), migrated, with the field town, and a server."""
    home, port = tmp_path / "home", free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYGEOAPI_") and k != "GRIDGEO_DATABASE_URL"}
    env.update(GRIDGEO_HOME=str(home), GRIDGEO_PG_PORT=str(free_port()),
               GRIDGEO_PORT=str(port), GRIDGEO_DEM_PATH=str(tmp_path / "dem.tif"),
               GRIDGEO_API_KEYS=json.dumps({EDITOR_KEY: "gis_editor"}),
               GRIDGEO_JOB_WORKERS="2")
    settings = Settings(home=home, pg_port=int(env["GRIDGEO_PG_PORT"]), port=port)
    bare = Deployment(home, env, f"http://127.0.0.1:{port}", "")
    try:
        bare.cli("db", "start")
        url = cluster_from(settings).url
        with connect(url) as conn:  # what `gridgeo db migrate` does, without its start-up
            apply_migrations(conn, collect_migrations(get_plugin_manager()))
            get_plugin_manager().hook.gridgeo_reference_data(conn=conn)
            ensure_field_town(conn)
        bare.cli("serve", "--background")
        yield Deployment(home, env, bare.base_url, url)
    finally:
        server.stop(settings)
        cluster = cluster_from(settings)
        cluster.stop()
        # Under a folder the server's user cannot enter, the cluster's files live outside
        # tmp_path (gridgeo/db/cluster.py, _storage_dir): remove them too.
        if cluster.link.is_symlink():
            shutil.rmtree(cluster.storage, ignore_errors=True)


class Writer:
    """Creates incidents with keys until stopped; remembers every create and its answer
    (None: the answer was lost)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.answers: dict[str, int | None] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            self.answers[key] = _create(self.base_url, key)

    def acknowledged(self) -> int:
        return sum(s == 201 for s in list(self.answers.values()))

    def halt(self) -> dict[str, int | None]:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()
        return self.answers


def _incident(key: str) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(CENTRE)},
            "properties": {"category_code": CATEGORY, "title": f"crash {key}",
                           "source": "grid_worker"}}


def _create(base_url: str, key: str) -> int | None:
    try:
        return requests.post(f"{base_url}/collections/incidents/items", json=_incident(key),
                             headers={**EDITOR, "Idempotency-Key": key}, timeout=10).status_code
    except requests.RequestException:
        return None  # the answer was lost


def _until(what: str, seconds: float, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds:.0f} s")


def _database_down_answer(base_url: str) -> list[requests.Response]:
    answer = requests.get(f"{base_url}/collections/incidents/items", params={"limit": 1},
                          headers={**EDITOR, "Accept": "application/geo+json"}, timeout=5)
    assert answer.status_code in (200, 503), answer.text
    return [answer] if answer.status_code == 503 else []  # a 503 Response is falsy


def _children(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def _gone(pids: set[int]) -> bool:
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def _queue_job(base_url: str) -> str | None:
    headers = {**EDITOR, "Prefer": "respond-async", "Idempotency-Key": "outage-job"}
    answer = requests.post(f"{base_url}/processes/grid-topology/execution",
                           json={"inputs": {"level": "town"}}, headers=headers, timeout=10)
    # 409: an earlier try whose answer this client gave up on is still running.
    assert answer.status_code in (201, 409, 503), answer.text
    return answer.headers["Location"] if answer.status_code == 201 else None


def _job_done(location: str) -> str | None:
    status = requests.get(location, params={"f": "json"}, headers=EDITOR, timeout=10).json()
    return status["status"] if status["status"] in ("successful", "failed") else None


def test_a_database_crash_loses_and_duplicates_no_create(deployment: Deployment) -> None:
    writers = [Writer(deployment.base_url) for _ in range(3)]
    try:
        _until("the first creates", 10, lambda: sum(w.acknowledged() for w in writers) >= 8)
        killed, survivor = _until("two job workers", 10,
                                  lambda: len(deployment.worker_pids()) == 2
                                  and deployment.worker_pids())
        os.kill(killed, signal.SIGKILL)
        postmaster = deployment.postmaster_pid()
        backends = _children(postmaster)
        os.kill(postmaster, signal.SIGKILL)  # while the writers write
    finally:
        answers = {k: s for w in writers for k, s in w.halt().items()}
    assert set(answers.values()) <= {201, 503, None}, answers
    # A request alone (not queued behind others for a web worker) is answered 503 within
    # its 5 s timeout.
    down, = _until("a 503", 10, lambda: _database_down_answer(deployment.base_url))
    assert down.headers["Retry-After"].isdigit()
    assert "database cannot be reached" in down.json()["description"]
    # The old backends leave when they notice the postmaster is gone; until then a new
    # postmaster may not start.
    _until("the old backends' exit", 10, lambda: _gone(backends))
    deployment.cli("db", "start")
    # The server recovers by itself; the clients retry what was not acknowledged, with
    # the same keys.
    for key in [k for k, s in answers.items() if s != 201]:
        def retried(key: str = key) -> int | None:
            return 201 if _create(deployment.base_url, key) == 201 else None

        answers[key] = _until(f"the retry of {key}", 10, retried)
    with connect(deployment.database_url) as conn:
        titles = conn.execute("SELECT title, count(*) FROM gridgeo.incidents"
                              " WHERE title LIKE 'crash %' GROUP BY title").fetchall()
    assert dict(titles) == {f"crash {k}": 1 for k in answers}
    # A job queued now runs; the killed job worker was started again, and the other one
    # lived through the outage (it reconnected; it was not started again).
    location = _until("a queued job", 10, lambda: _queue_job(deployment.base_url))
    assert _until("the queued job", 15, lambda: _job_done(location)) == "successful"
    workers = deployment.worker_pids()
    assert len(workers) == 2 and killed not in workers and survivor in workers
