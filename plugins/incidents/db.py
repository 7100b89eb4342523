"""One write transaction as the caller, with the database's own refusals as 4xx sentences."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError, trigger_refusal
from gridgeo.security.access import require_for

LOGGER = logging.getLogger(__name__)


def require_writer(what: str) -> None:
    """The incidents collection's write rule: 401 for anonymous callers, 403 for roles
    that may not write (``what`` is kept for the callers' readability)."""
    require_for("incidents", "write")


@contextmanager
def write_transaction() -> Iterator[psycopg.Connection]:
    """A pooled transaction that names the caller (``gridgeo.actor``) for triggers and logs.

    A trigger's ``GGnnn`` refusal becomes that HTTP status with its sentence; any other
    database error a generic sentence (the raw text is only logged). Rolled back on error.
    """
    try:
        with connection() as conn:  # names the caller (gridgeo.actor) for triggers
            yield conn
    except psycopg.Error as exc:
        refusal = trigger_refusal(exc, "the write was refused.")
        if refusal is not None:
            raise refusal from None
        LOGGER.error("write failed: %s", exc)
        raise RequestError("the write failed on the server and nothing was changed.", 500,
                           "ServerError") from None
