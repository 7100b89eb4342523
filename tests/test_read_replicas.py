"""Reads on a streaming replica, writes and the writer's own reads on the primary
(docs/scaling.md). The test starts both clusters on loopback and pauses replay on the
replica, so a row it has not replayed shows where each read was served."""

from __future__ import annotations

import contextvars
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
import requests

from gridgeo.db import pool
from gridgeo.db.cluster import prepare_database
from gridgeo.db.migrate import apply_migrations, collect_migrations
from gridgeo.db.replicas import begin_request, written_lsn
from gridgeo.plugins import get_plugin_manager
from gridgeo.settings import get_settings
from tests.conftest import EDITOR, free_port, server_env
from tests.server_processes import (
    new_cluster,
    owned_dir,
    running_cluster,
    standby_of,
    wait_until,
)

T = TypeVar("T")
APP_USER, APP_PASSWORD, DB = "gridgeo", "replica-test-pw", "gridgeo"
# Where a read was served, and whether it found the department the writer adds.
SEEN = ("SELECT pg_is_in_recovery(),"
        " EXISTS (SELECT FROM gridgeo.departments WHERE code = 'replica-test')")


def _app_url(port: int) -> str:
    return f"postgresql://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{port}/{DB}"


def _replayed(replica_su: str, lsn: str) -> bool:
    with psycopg.connect(replica_su, autocommit=True) as conn:
        row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
    return bool(row and row[0])


def _primary_lsn(primary_su: str) -> str:
    with psycopg.connect(primary_su, autocommit=True) as conn:
        return str(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])  # type: ignore[index]


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[str, str]]:
    """A migrated primary and its streaming replica; yields their superuser URLs."""
    with owned_dir("gridgeo-replication-") as folder:
        primary_port, replica_port = free_port(), free_port()
        new_cluster(folder / "primary")
        with running_cluster(folder / "primary", primary_port) as primary_su:
            with psycopg.connect(primary_su, autocommit=True) as su:
                su.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
                su.execute(f"CREATE DATABASE {DB} OWNER {APP_USER}")
            prepare_database(primary_su.rsplit("/", 1)[0] + f"/{DB}")
            with pool.connect(_app_url(primary_port)) as conn:
                apply_migrations(conn, collect_migrations(get_plugin_manager()))
            standby_of(primary_port, folder / "replica")
            with running_cluster(folder / "replica", replica_port) as replica_su:
                yield primary_su, replica_su


@pytest.fixture()
def app_with_replica(clusters: tuple[str, str],
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    primary_su, replica_su = clusters
    ports = [str(psycopg.conninfo.conninfo_to_dict(u)["port"]) for u in clusters]
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", _app_url(int(ports[0])))
    monkeypatch.setenv("GRIDGEO_DATABASE_READ_URLS", json.dumps([_app_url(int(ports[1]))]))
    pool.close_pool()
    get_settings.cache_clear()
    yield primary_su, replica_su
    pool.close_pool()
    monkeypatch.undo()
    get_settings.cache_clear()


def _as_request(lsn: str | None, work: Callable[[], T]) -> T:
    """``work`` as a new request (own context) that sent ``lsn`` back, or nothing."""
    def request() -> T:
        begin_request(lsn)
        return work()
    return contextvars.Context().run(request)


def _read() -> tuple[bool, bool]:
    with pool.connection(read=True) as conn:
        return conn.execute(SEEN).fetchone()  # type: ignore[return-value]


def _write_then_read() -> tuple[str | None, tuple[bool, bool]]:
    with pool.connection() as conn:
        conn.execute("INSERT INTO gridgeo.departments (code, name, kind)"
                     " VALUES ('replica-test', 'added while replay is paused', 'other')")
    return written_lsn(), _read()


def test_reads_go_to_the_replica_and_a_writer_reads_its_own_write(
        app_with_replica: tuple[str, str]) -> None:
    primary_su, replica_su = app_with_replica
    caught_up = _primary_lsn(primary_su)
    wait_until(lambda: _replayed(replica_su, caught_up), "the replica did not catch up")
    assert _as_request(None, _read) == (True, False)  # a reader is served by the replica
    with psycopg.connect(replica_su, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        lsn, own_read = _as_request(None, _write_then_read)
        assert lsn is not None
        assert own_read == (False, True)  # the writer, same request: the primary
        assert _as_request(None, _read) == (True, False)  # others: the replica, not yet there
        # The writer's next request, on any web node, sends the position back.
        assert _as_request(lsn, _read) == (False, True)
        replica.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: _replayed(replica_su, lsn), "the replica did not replay the write")
    assert _as_request(lsn, _read) == (True, True)  # caught up: the replica serves it again
    assert _as_request(None, _read) == (True, True)


@pytest.fixture(scope="module")
def web_node(clusters: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[str]:
    """A gridgeo server (`gridgeo serve`) reading from the replica, writing to the primary."""
    ports = [int(str(psycopg.conninfo.conninfo_to_dict(u)["port"])) for u in clusters]
    port = free_port()
    env = server_env(_app_url(ports[0]), tmp_path_factory.mktemp("replica-node"), port)
    env["GRIDGEO_DATABASE_READ_URLS"] = json.dumps([_app_url(ports[1])])
    # No jobs here, and one web worker: the position travels in the request (header or
    # cookie), not in a process's memory, so a second worker proves nothing more; each
    # spared process is seconds of start-up on a loaded machine.
    env.update(GRIDGEO_JOB_WORKERS="0", GRIDGEO_WORKERS="1")
    subprocess.run([sys.executable, "-m", "gridgeo.cli", "serve", "--background"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}"
    _end_at_once(int(Path(env["GRIDGEO_HOME"], "server.pid").read_text()))


def _end_at_once(server_pid: int) -> None:
    """SIGKILL the server's process group (gunicorn daemonizes into a group of its own)
    and wait until it is gone: nothing here checks a graceful drain, which costs seconds
    (tests/test_stateless_nodes.py stops its nodes with `gridgeo stop`)."""
    group = os.getpgid(server_pid)
    assert group != os.getpgrp(), "the server shares our process group"
    os.killpg(group, signal.SIGKILL)
    wait_until(lambda: not _members(group), "the web node's processes did not end", 10)


def _members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # the fields after the command name: state, parent pid, process group, ...
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == group:
                members.append(int(stat.parent.name))
        except OSError:
            continue  # ended while we looked
    return members


TOWN = {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [[[
    [112.40, 34.60], [112.42, 34.60], [112.42, 34.62], [112.40, 34.62], [112.40, 34.60]]]]},
    "properties": {"code": "419999101", "name": "Replica town", "level": "town"}}


def test_a_writer_reads_its_write_through_any_web_node(
        web_node: str, clusters: tuple[str, str]) -> None:
    with psycopg.connect(clusters[1], autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            created = requests.post(f"{web_node}/collections/grids/items", json=TOWN,
                                    headers=EDITOR, timeout=30)
            assert created.status_code == 201, created.text
            location, lsn = created.headers["Location"], created.headers["Gridgeo-LSN"]
            assert requests.get(location, timeout=30).status_code == 404  # the replica
            assert requests.get(location, headers={"Gridgeo-LSN": lsn},
                                timeout=30).status_code == 200
            browser = requests.Session()
            browser.cookies.set("gridgeo_lsn", created.cookies["gridgeo_lsn"])
            assert browser.get(location, timeout=30).status_code == 200
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: _replayed(clusters[1], lsn), "the replica did not replay the write")
    assert requests.get(location, timeout=30).status_code == 200


def test_a_mangled_position_is_a_400_that_says_what_to_send(base_url: str) -> None:
    answer = requests.get(f"{base_url}/collections", headers={"Gridgeo-LSN": "yesterday"},
                          timeout=30)
    assert answer.status_code == 400
    assert "Gridgeo-LSN must be a WAL position" in answer.json()["description"]
