"""Process jobs: async execution through gridgeo's manager and workers, real progress."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
import requests
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from gridgeo.jobs import report_progress, store
from gridgeo.jobs.manager import run_processor


class _Stepper(BaseProcessor):
    """Reports 30 % then 60 %, and reads back what the jobs table said in between."""

    seen: list[int]

    def __init__(self, url: str):
        super().__init__({"name": "stepper"}, {"id": "stepper", "version": "1"})
        self.url = url
        self.seen = []

    def set_job_id(self, job_id: str) -> None:
        self.job_id = job_id

    def _progress_now(self) -> int:
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SELECT progress FROM gridgeo.jobs WHERE job_id = %s",
                               (self.job_id,)).fetchone()
        return int(row[0])  # type: ignore[index]

    def execute(self, data: dict[str, Any], outputs: Any = None) -> tuple[str, Any]:
        report_progress(30, "first half")
        self.seen.append(self._progress_now())
        time.sleep(0.6)  # the reporter writes at most twice a second
        report_progress(60, "second half")
        self.seen.append(self._progress_now())
        if data.get("fail"):
            raise ProcessorExecuteError(user_msg="the stepper was told to fail")
        return "application/json", {"done": True}


def test_progress_reaches_the_jobs_table(demo_db_url: str) -> None:
    job_id = str(uuid.uuid4())
    store.insert_job(job_id, "stepper", "running", "", {"subject": None, "roles": []})
    stepper = _Stepper(demo_db_url)
    stepper.set_job_id(job_id)
    _, outputs, status = run_processor(stepper, job_id, {}, None)
    assert stepper.seen == [30, 60]
    assert status.value == "successful" and outputs == {"done": True}
    row = store.get_job(job_id)
    assert row is not None and row["progress"] == 100 and bytes(row["result"]) == b'{"done":true}'

    failing = str(uuid.uuid4())
    store.insert_job(failing, "stepper", "running", "", {"subject": None, "roles": []})
    stepper.set_job_id(failing)
    _, body, status = run_processor(stepper, failing, {"fail": True}, None)
    assert status.value == "failed" and body["description"] == "the stepper was told to fail"
    assert store.get_job(failing)["message"] == "the stepper was told to fail"  # type: ignore[index]


def test_async_job_runs_in_a_worker_and_keeps_its_result(base_url: str,
                                                         conn: psycopg.Connection) -> None:
    inputs = {"inputs": {"level": "unit"}}
    started = requests.post(f"{base_url}/processes/grid-topology/execution", json=inputs,
                            headers={"Prefer": "respond-async"}, timeout=60)
    assert started.status_code == 201, started.text
    assert started.headers["Preference-Applied"] == "respond-async"
    location = started.headers["Location"]
    job_id = location.rsplit("/", 1)[1]
    deadline = time.monotonic() + 120
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = requests.get(location, params={"f": "json"}, timeout=30).json()
        if status["status"] in ("successful", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "successful", status
    assert status["progress"] == 100
    # It ran in a worker process, not in the web server: the worker claimed it.
    row = conn.execute("SELECT queued, started IS NOT NULL FROM gridgeo.jobs WHERE job_id = %s",
                       (job_id,)).fetchone()
    assert row == (True, True)
    result = requests.get(f"{location}/results", params={"f": "json"}, timeout=60)
    assert result.status_code == 200
    sync = requests.post(f"{base_url}/processes/grid-topology/execution", json=inputs,
                         timeout=120)
    assert result.json()["features"] == sync.json()["features"]
    listed = requests.get(f"{base_url}/jobs", params={"f": "json"}, timeout=30).json()
    assert job_id in {j["jobID"] for j in listed["jobs"]}


def test_a_job_is_its_callers(base_url: str) -> None:
    """Results may hold what only the caller may see: nobody else reads or lists them."""
    from tests.conftest import EDITOR

    started = requests.post(f"{base_url}/processes/grid-topology/execution",
                            json={"inputs": {"level": "village"}},
                            headers={**EDITOR, "Prefer": "respond-async"}, timeout=60)
    assert started.status_code == 201, started.text
    location = started.headers["Location"]
    job_id = location.rsplit("/", 1)[1]
    assert requests.get(location, params={"f": "json"}, headers=EDITOR,
                        timeout=30).status_code == 200
    assert requests.get(location, params={"f": "json"}, timeout=30).status_code == 404
    assert requests.get(f"{location}/results", params={"f": "json"},
                        timeout=30).status_code == 404
    anonymous = requests.get(f"{base_url}/jobs", params={"f": "json"}, timeout=30).json()
    assert job_id not in {j["jobID"] for j in anonymous["jobs"]}
    mine = requests.get(f"{base_url}/jobs", params={"f": "json"}, headers=EDITOR,
                        timeout=30).json()
    assert job_id in {j["jobID"] for j in mine["jobs"]}
