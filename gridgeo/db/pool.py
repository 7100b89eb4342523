"""One connection pool per process, shared by every provider instance.

pygeoapi rebuilds providers on every request, so the pool lives here, at module
level, and is opened on first use.

The pool works behind a transaction-mode pooler (PgBouncer): a server connection then
serves another client after each transaction, so nothing here is set for the session.
Every transaction starts by naming its caller and the deployment's settings with
``set_config(..., true)`` (undone at commit or rollback); with GRIDGEO_DATABASE_POOLER
nothing is prepared (the pooler cannot route prepared statements); maintenance
connections (``connect``) never use the pooled URL (docs/scaling.md).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from psycopg_pool import ConnectionPool

from gridgeo.db import replicas
from gridgeo.db.cluster import database_url, direct_url
from gridgeo.errors import DatabaseUnavailable, database_unreachable, write_refusal
from gridgeo.identity import current_identity
from gridgeo.security.territory import outside_territory_allowed
from gridgeo.settings import get_settings
from gridgeo.timezone import local_zone_name, set_session_zone

_lock = threading.Lock()
_pool: ConnectionPool | None = None
_read_pools: list[ConnectionPool] = []
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
# links in the views are built from the public URL; gridgeo.scrub_text also removes the
# deployment's own patterns (core/011_privacy.sql); a time a device recorded offline may be
# client_time_max_age old (fieldapi/001_client_times.sql).
_TRANSACTION_SETTINGS = """
SELECT set_config('search_path', 'gridgeo, public', true),
       set_config('statement_timeout', %(timeout)s, true),
       set_config('TimeZone', %(zone)s, true),
       set_config('gridgeo.public_url', %(public_url)s, true),
       set_config('gridgeo.scrub_patterns', %(scrub_patterns)s, true),
       set_config('gridgeo.roles', %(roles)s, true),
       set_config('gridgeo.staff_no', %(staff_no)s, true),
       set_config('gridgeo.actor', %(actor)s, true),
       set_config('gridgeo.outside_territory', %(outside)s, true),
       set_config('gridgeo.client_time_max_age', %(client_time_max_age)s, true)"""


_zone: tuple[float, str] | None = None
ZONE_READ_EVERY_S = 60.0


def _deployment_zone(conn: psycopg.Connection) -> str:
    """The deployment's time zone, read at most once a minute per process (it changes
    rarely; a database not migrated yet, e.g. for /readyz, has the default)."""
    global _zone
    now = time.monotonic()
    if _zone is None or now - _zone[0] > ZONE_READ_EVERY_S:
        _zone = (now, local_zone_name(conn))
    return _zone[1]


def _as_caller(conn: psycopg.Connection) -> None:
    """Name the request's caller and the deployment's settings for this transaction only."""
    identity = current_identity()
    settings = get_settings()
    conn.execute(_TRANSACTION_SETTINGS, {
        "timeout": str(int(settings.statement_timeout_ms)),
        "zone": _deployment_zone(conn),
        "public_url": settings.server_url,
        "scrub_patterns": json.dumps(settings.scrub_patterns),
        "roles": ",".join(sorted(identity.effective_roles)),
        "staff_no": identity.staff_no or "",
        "actor": identity.subject or "anonymous",
        "outside": "allow" if outside_territory_allowed() else "",
        "client_time_max_age": f"{settings.client_time_max_age_days} days"})


# A connection handed back this recently is checked only by its next statement: checking
# every checkout cost a round trip per request (as long as a single item's own statement,
# docs/features.md). Older ones are checked: a database restart outlasts this, so a
# connection from before it is always checked, replaced, and never handed out broken.
CHECK_IDLE_AFTER_S = 0.2
_returned_at: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()


def _note_returned(conn: psycopg.Connection) -> None:
    _returned_at[conn] = time.monotonic()


def _check_if_idle(conn: psycopg.Connection) -> None:
    """The pool's liveness check, for connections idle longer than CHECK_IDLE_AFTER_S."""
    returned = _returned_at.get(conn)
    if returned is None or time.monotonic() - returned >= CHECK_IDLE_AFTER_S:
        ConnectionPool.check_connection(conn)


def open_pool(url: str, max_size: int, pooler: bool | None = None) -> ConnectionPool:
    """A pool of application connections to ``url``: the database, or a transaction-mode
    pooler in front of it (``pooler``; unset: GRIDGEO_DATABASE_POOLER)."""
    settings = get_settings()
    behind_pooler = settings.database_pooler if pooler is None else pooler
    # check: a connection broken by a database restart is replaced, not handed out.
    return ConnectionPool(
        url, min_size=1, max_size=max_size, open=True, name="gridgeo",
        timeout=settings.pool_timeout_s, check=_check_if_idle, reset=_note_returned,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        # Behind a pooler nothing is prepared (prepare_threshold=None): the next
        # transaction may run on another server connection, where a statement prepared
        # on this one is unknown. Direct, psycopg prepares a statement on its 5th run.
        kwargs={"application_name": "gridgeo", "connect_timeout": CONNECT_TIMEOUT_S,
                "prepare_threshold": None if behind_pooler else 5})


def get_pool() -> ConnectionPool:
    """The process-wide pool, opened on first call."""
    global _pool
    with _lock:
        if _pool is None:
            settings = get_settings()
            _pool = open_pool(database_url(settings), settings.pool_max_size)
        return _pool


def _read_pools_open() -> list[ConnectionPool]:
    """One pool per configured replica, opened on first call."""
    with _lock:
        if not _read_pools:
            settings = get_settings()
            _read_pools.extend(open_pool(url, settings.pool_max_size)
                               for url in settings.database_read_urls)
        return _read_pools


def close_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
            _pool = None
        while _read_pools:
            _read_pools.pop().close()


def _replica_caught_up(conn: psycopg.Connection) -> bool:
    """Has this replica replayed what the caller must see (its own last write)?"""
    lsn = replicas.required_lsn()
    if lsn is None:
        return True
    row = conn.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)",
                       (lsn,)).fetchone()
    return bool(row and row[0])


def _note_write(conn: psycopg.Connection) -> None:
    """After the block: commit, and if it wrote, note the primary's WAL position (only
    with replicas configured: it costs two round trips)."""
    if not get_settings().database_read_urls:
        return
    wrote = conn.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").fetchone()
    conn.commit()
    if wrote and wrote[0]:
        lsn = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        replicas.note_commit(str(lsn[0]))  # type: ignore[index]


@contextmanager
def transaction(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """One transaction of ``pool`` as the current request's identity, rolled back on error."""
    with _reachable(), pool.connection() as conn:
        _as_caller(conn)
        yield conn


@contextmanager
def connection(read: bool = False) -> Iterator[psycopg.Connection]:
    """A pooled connection; the block is one transaction, rolled back on error.

    The transaction runs as the current request's identity: every pooled transaction a
    request uses starts here, so row-level security cannot be bypassed by a code path.
    A transaction that named nobody reaches no protected row (core/009).
    Inside a ``unit_of_work`` the block is a savepoint of the unit's transaction instead.
    A database that cannot be reached is a ``DatabaseUnavailable`` (503).

    ``read=True`` (a block that only reads) may run on a replica: one that has replayed
    the caller's last write (gridgeo.db.replicas), else the primary.
    """
    joined = _unit.get()
    if joined is not None:
        with _reachable(), joined.transaction():
            yield joined
        return
    if read and get_settings().database_read_urls:
        readers = _read_pools_open()
        with transaction(readers[_next_reader(len(readers))]) as conn:
            if _replica_caught_up(conn):
                yield conn
                return
    with transaction(get_pool()) as conn:
        yield conn
        _note_write(conn)


_turn = iter(range(1 << 62))


def _next_reader(count: int) -> int:
    """Replicas in turn (next() on a shared iterator is atomic under the GIL)."""
    return next(_turn) % count


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


@contextmanager
def write_transaction(refused: str = "the write was refused.",
                      failed: str = "the write failed on the server and nothing was changed."
                      ) -> Iterator[psycopg.Connection]:
    """A pooled transaction as the caller (``gridgeo.actor`` for triggers and logs), rolled
    back on error; a database error leaves it as the sentence ``write_refusal`` gives."""
    try:
        with connection() as conn:
            yield conn
    except psycopg.Error as exc:
        raise write_refusal(exc, refused, failed) from None
