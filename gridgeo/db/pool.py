"""One connection pool per process, shared by every provider instance.

pygeoapi rebuilds providers on every request, so the pool lives here, at module
level, and is opened on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from psycopg_pool import ConnectionPool

from gridgeo.db.cluster import database_url
from gridgeo.errors import DatabaseUnavailable, database_unreachable
from gridgeo.identity import current_identity
from gridgeo.security.territory import outside_territory_allowed
from gridgeo.settings import get_settings
from gridgeo.timezone import set_session_zone

_lock = threading.Lock()
_pool: ConnectionPool | None = None
# A new connection attempt gives up after this long: a database that is down answers
# nothing, and the request must still be answered (503) within a few seconds.
CONNECT_TIMEOUT_S = 2
# A connection the pool could not open is given up after this long; the next request
# that waits makes a new attempt, so the pool recovers soon after the database returns.
RECONNECT_TIMEOUT_S = 5.0
# The transaction of a unit of work (see ``unit_of_work``), joined by every connection()
# inside it.
_unit: ContextVar[psycopg.Connection | None] = ContextVar("gridgeo_unit_of_work", default=None)


def _configure(conn: psycopg.Connection) -> None:
    timeout = get_settings().statement_timeout_ms
    conn.execute(f"SET statement_timeout = {int(timeout)}")
    conn.execute("SET search_path = gridgeo, public")
    set_session_zone(conn)  # the deployment's wall clock (gridgeo.timezone)
    # QR links in the views are built from the deployment's public URL.
    conn.execute("SELECT set_config('gridgeo.public_url', %s, false)",
                 (get_settings().server_url,))
    # Outside a request transaction a pooled connection is nobody: row-level security
    # lets no row of a protected table through (see plugins/core/schema/002_security.sql).
    conn.execute("SET gridgeo.roles = ''")
    conn.commit()


def _as_caller(conn: psycopg.Connection) -> None:
    """Name the request's caller for this transaction only (row-level security, audit)."""
    identity = current_identity()
    conn.execute(
        "SELECT set_config('gridgeo.roles', %s, true), set_config('gridgeo.staff_no', %s, true),"
        " set_config('gridgeo.actor', %s, true),"
        " set_config('gridgeo.outside_territory', %s, true)",
        (",".join(sorted(identity.effective_roles)), identity.staff_no or "",
         identity.subject or "anonymous", "allow" if outside_territory_allowed() else ""))


def get_pool() -> ConnectionPool:
    """The process-wide pool, opened on first call."""
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            # check: a connection broken by a database restart is replaced, not handed out.
            _pool = ConnectionPool(
                database_url(settings), min_size=1, max_size=settings.pool_max_size,
                configure=_configure, open=True, name="gridgeo",
                timeout=settings.pool_timeout_s, check=ConnectionPool.check_connection,
                reconnect_timeout=RECONNECT_TIMEOUT_S,
                kwargs={"application_name": "gridgeo", "connect_timeout": CONNECT_TIMEOUT_S},
            )
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; the block is one transaction, rolled back on error.

    The transaction runs as the current request's identity: every pooled transaction a
    request uses starts here, so row-level security cannot be bypassed by a code path.
    Inside a ``unit_of_work`` the block is a savepoint of the unit's transaction instead.
    A database that cannot be reached is a ``DatabaseUnavailable`` (503).
    """
    joined = _unit.get()
    if joined is not None:
        with _reachable(), joined.transaction():
            yield joined
        return
    with _reachable(), get_pool().connection() as conn:
        _as_caller(conn)
        yield conn


@contextmanager
def unit_of_work() -> Iterator[psycopg.Connection]:
    """One transaction for everything the block writes, through any code path.

    A create and its Idempotency-Key record must commit together; the create may be
    code that takes its own ``connection()`` (a pygeoapi process cannot be handed one),
    so every ``connection()`` in the block joins this transaction as a savepoint.
    """
    with connection() as conn:
        token = _unit.set(conn)
        try:
            yield conn
        finally:
            _unit.reset(token)


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except psycopg.OperationalError as exc:
        if database_unreachable(exc):
            raise DatabaseUnavailable() from exc
        raise


def connect(url: str | None = None, **kwargs: object) -> psycopg.Connection:
    """A dedicated connection (CLI work, migrations, bulk loads), configured like the pool's.

    These are trusted maintenance paths with no request identity: row-level security
    lets them through (``gridgeo.maintenance``); the web app never uses them.
    """
    conn = psycopg.connect(url or database_url(get_settings()), **kwargs)  # type: ignore[arg-type]
    conn.execute("SET gridgeo.maintenance = 'on'")
    conn.execute("SET search_path = gridgeo, public")
    set_session_zone(conn)
    conn.commit()
    return conn
