"""One write transaction as the caller, with the database's own refusals as 4xx sentences."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError
from gridgeo.identity import current_identity

LOGGER = logging.getLogger(__name__)
WRITE_ROLES = frozenset({"gis_editor", "admin"})


def require_writer(what: str) -> None:
    """401 for anonymous callers, 403 for roles that may not write."""
    identity = current_identity()
    if identity.is_anonymous:
        raise RequestError(f"{what} needs credentials: send an API key as "
                           "'Authorization: Bearer <key>'.", 401, "Unauthorized")
    if not identity.roles & WRITE_ROLES:
        raise RequestError(f"your role may not do this: {what}.", 403, "Forbidden")


@contextmanager
def write_transaction() -> Iterator[psycopg.Connection]:
    """A pooled transaction that names the caller (``gridgeo.actor``) for triggers and logs.

    A trigger's ``GGnnn`` refusal becomes that HTTP status with its sentence; any other
    database error a generic sentence (the raw text is only logged). Rolled back on error.
    """
    try:
        with connection() as conn:
            conn.execute("SELECT set_config('gridgeo.actor', %s, true)",
                          (current_identity().subject or "anonymous",))
            yield conn
    except psycopg.Error as exc:
        state = exc.diag.sqlstate or ""
        if state.startswith("GG") and state[2:].isdigit():
            raise RequestError(exc.diag.message_primary or "the write was refused.",
                               int(state[2:])) from None
        LOGGER.error("write failed: %s", exc)
        raise RequestError("the write failed on the server and nothing was changed.", 500,
                           "ServerError") from None
