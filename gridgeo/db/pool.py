"""One connection pool per process, shared by every provider instance.

pygeoapi rebuilds providers on every request, so the pool lives here, at module
level, and is opened on first use.

The pool works behind a transaction-mode pooler (PgBouncer): a server connection then
serves another client after each transaction, so nothing here is set for the session.
Every transaction starts by naming its caller and the deployment's settings with
``set_config(..., true)`` (undone at commit or rollback); prepared statements are off
(the pooler cannot route them); maintenance connections (``connect``) never use the
pooled URL (docs/scaling.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from psycopg_pool import ConnectionPool

from gridgeo.db.cluster import database_url, direct_url
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

# One statement, one round trip: the request's identity (row-level security, audit) and
# what used to be session settings. TimeZone is the deployment's (gridgeo.timezone); QR
# links in the views are built from the public URL.
_TRANSACTION_SETTINGS = """
SELECT set_config('search_path', 'gridgeo, public', true),
       set_config('statement_timeout', %(timeout)s, true),
       set_config('TimeZone', gridgeo.local_tz(), true),
       set_config('gridgeo.public_url', %(public_url)s, true),
       set_config('gridgeo.roles', %(roles)s, true),
       set_config('gridgeo.staff_no', %(staff_no)s, true),
       set_config('gridgeo.actor', %(actor)s, true),
       set_config('gridgeo.outside_territory', %(outside)s, true)"""


def _as_caller(conn: psycopg.Connection) -> None:
    """Name the request's caller and the deployment's settings for this transaction only."""
    identity = current_identity()
    settings = get_settings()
    conn.execute(_TRANSACTION_SETTINGS, {
        "timeout": str(int(settings.statement_timeout_ms)),
        "public_url": settings.server_url,
        "roles": ",".join(sorted(identity.effective_roles)),
        "staff_no": identity.staff_no or "",
        "actor": identity.subject or "anonymous",
        "outside": "allow" if outside_territory_allowed() else ""})


def open_pool(url: str, max_size: int) -> ConnectionPool:
    """A pool of application connections to ``url`` (the database or a pooler in front)."""
    # check: a connection broken by a database restart is replaced, not handed out.
    return ConnectionPool(
        url, min_size=1, max_size=max_size, open=True, name="gridgeo",
        timeout=get_settings().pool_timeout_s, check=ConnectionPool.check_connection,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        # prepare_threshold=None: a transaction-mode pooler hands the next transaction to
        # another server connection, where a statement prepared on this one is unknown.
        kwargs={"application_name": "gridgeo", "connect_timeout": CONNECT_TIMEOUT_S,
                "prepare_threshold": None})


def get_pool() -> ConnectionPool:
    """The process-wide pool, opened on first call."""
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            _pool = open_pool(database_url(settings), settings.pool_max_size)
        return _pool


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """One transaction of ``pool`` as the current request's identity, rolled back on error."""
    with _reachable(), pool.connection() as conn:
        _as_caller(conn)
        yield conn


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; the block is one transaction, rolled back on error.

    The transaction runs as the current request's identity: every pooled transaction a
    request uses starts here, so row-level security cannot be bypassed by a code path.
    A transaction that named nobody reaches no protected row (core/009).
    Inside a ``unit_of_work`` the block is a savepoint of the unit's transaction instead.
    A database that cannot be reached is a ``DatabaseUnavailable`` (503).
    """
    joined = _unit.get()
    if joined is not None:
        with _reachable(), joined.transaction():
            yield joined
        return
    with transaction(get_pool()) as conn:
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
    """A dedicated connection (CLI work, migrations, bulk loads) to the database itself.

    These are trusted maintenance paths with no request identity: row-level security
    lets them through (``gridgeo.maintenance``, set for the session: so they never go
    through a pooler, GRIDGEO_DATABASE_DIRECT_URL); the web app never uses them.
    """
    conn = psycopg.connect(url or direct_url(get_settings()), **kwargs)  # type: ignore[arg-type]
    conn.execute("SET gridgeo.maintenance = 'on'")
    conn.execute("SET search_path = gridgeo, public")
    set_session_zone(conn)
    conn.commit()
    return conn
