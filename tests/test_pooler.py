"""gridgeo behind PgBouncer in transaction mode (docs/scaling.md): each transaction names
its caller, nothing is left at session level, no prepared statement crosses clients, and
maintenance connections bypass the pooler."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gridgeo.db import pool
from gridgeo.identity import Identity, reset_identity, set_identity
from gridgeo.settings import get_settings
from tests.conftest import free_port
from tests.server_processes import owned_dir, pgbouncer

# What a client might find left over on a shared server connection. A custom setting once
# set in a transaction reads '' after it, not NULL: both mean unset to gridgeo.
SESSION = ("SELECT pg_backend_pid(), nullif(current_setting('gridgeo.roles', true), ''),"
           " nullif(current_setting('gridgeo.maintenance', true), ''),"
           " nullif(current_setting('gridgeo.actor', true), ''),"
           " (SELECT setting FROM pg_settings WHERE name = 'statement_timeout'),"
           " current_setting('TimeZone'),"
           " current_setting('search_path'), gridgeo.request_trusted()")
GRIDS_SEEN = "SELECT pg_backend_pid(), array_agg(DISTINCT grid_code) FROM gridgeo.incidents"


@pytest.fixture(scope="module")
def bouncer_url(demo_db_url: str) -> Iterator[str]:
    """One server connection behind the pooler: every client shares it."""
    with owned_dir("gridgeo-pgbouncer-") as folder, \
            pgbouncer(folder, free_port(), demo_db_url, pool_size=1) as url:
        yield url


def _workers(demo_db_url: str) -> list[tuple[str, set[str]]]:
    """Two grid workers with incidents in their grids and no grid in common."""
    with pool.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT s.staff_no, array_agg(DISTINCT a.grid_code) FROM gridgeo.staff s"
            " JOIN gridgeo.grid_assignments a ON a.staff_id = s.id AND a.role = 'worker'"
            " WHERE s.active AND EXISTS (SELECT FROM gridgeo.incidents i"
            "                             WHERE i.grid_code = a.grid_code)"
            " GROUP BY s.staff_no ORDER BY s.staff_no").fetchall()
    first = rows[0]
    second = next(r for r in rows[1:] if not set(r[1]) & set(first[1]))
    return [(first[0], set(first[1])), (second[0], set(second[1]))]


def _grids_seen(app_pool: object, staff_no: str) -> tuple[int, set[str]]:
    token = set_identity(Identity(subject=staff_no, roles=frozenset({"grid_worker"}),
                                  staff_no=staff_no))
    try:
        with pool.transaction(app_pool) as conn:  # type: ignore[arg-type]
            pid, grids = conn.execute(GRIDS_SEEN).fetchone()  # type: ignore[misc]
            for _ in range(8):  # past psycopg's prepare threshold (5): nothing is prepared
                conn.execute(GRIDS_SEEN).fetchone()
            return pid, set(grids or ())
    finally:
        reset_identity(token)


def test_two_callers_interleaved_on_one_server_connection_see_their_own_rows(
        bouncer_url: str, demo_db_url: str) -> None:
    (first, first_grids), (second, second_grids) = _workers(demo_db_url)
    app_pool = pool.open_pool(bouncer_url, max_size=2, pooler=True)
    try:
        seen = [_grids_seen(app_pool, staff) for staff in (first, second, first, second)]
    finally:
        app_pool.close()
    assert len({pid for pid, _ in seen}) == 1  # one server connection served all four
    for (_, grids), own in zip(seen, [first_grids, second_grids] * 2, strict=True):
        assert grids and grids <= own


def test_no_session_setting_reaches_another_client(bouncer_url: str, demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url, autocommit=True) as fresh:
        baseline = fresh.execute(SESSION).fetchone()[1:]  # type: ignore[index]
    # The pooler does share sessions: what one client SETs, the next one finds.
    with psycopg.connect(bouncer_url, autocommit=True) as careless:
        careless.execute("SET statement_timeout = 4321")
    with psycopg.connect(bouncer_url, autocommit=True) as next_client:
        assert next_client.execute("SHOW statement_timeout").fetchone() == ("4321ms",)
        next_client.execute("RESET statement_timeout")
    # gridgeo's own clients leave nothing: request transactions as an admin...
    app_pool = pool.open_pool(bouncer_url, max_size=2, pooler=True)
    token = set_identity(Identity(subject="boss", roles=frozenset({"admin"})))
    try:
        with pool.transaction(app_pool) as conn:
            inside = conn.execute(SESSION).fetchone()
    finally:
        reset_identity(token)
        app_pool.close()
    assert inside is not None and inside[1] == "admin,anonymous" and inside[2] is None
    assert inside[4:7] == (str(get_settings().statement_timeout_ms), "Asia/Shanghai",
                           "gridgeo, public")
    with psycopg.connect(bouncer_url, autocommit=True) as after:
        left = after.execute(SESSION).fetchone()
        nobody_sees = after.execute("SELECT count(*) FROM gridgeo.incidents").fetchone()
    assert left is not None and left[0] == inside[0]  # the same server connection
    assert left[1:] == baseline and left[-1] is False  # ...and nothing stayed
    assert nobody_sees == (0,)  # a client that names no caller reaches no protected row


@pytest.fixture()
def app_behind_pooler(bouncer_url: str, demo_db_url: str,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("GRIDGEO_DATABASE_URL", bouncer_url)
    monkeypatch.setenv("GRIDGEO_DATABASE_POOLER", "true")
    monkeypatch.setenv("GRIDGEO_DATABASE_DIRECT_URL", demo_db_url)
    get_settings.cache_clear()
    yield bouncer_url
    monkeypatch.undo()
    get_settings.cache_clear()


def test_maintenance_connections_bypass_the_pooler(app_behind_pooler: str) -> None:
    with psycopg.connect(app_behind_pooler, autocommit=True) as client:
        pooled_pid = client.execute("SELECT pg_backend_pid()").fetchone()
    with pool.connect() as maintenance:
        own = maintenance.execute("SELECT pg_backend_pid(), gridgeo.request_trusted()"
                                  ).fetchone()
    assert own is not None and own[1] is True
    assert own[0] != pooled_pid[0]  # type: ignore[index]
    with psycopg.connect(app_behind_pooler, autocommit=True) as client:
        assert client.execute("SELECT nullif(current_setting('gridgeo.maintenance', true), ''),"
                              " gridgeo.request_trusted()").fetchone() == (None, False)
