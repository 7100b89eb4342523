"""Read-your-writes across replicas and stateless web nodes: the WAL position to wait for.

Reads may go to streaming replicas (GRIDGEO_DATABASE_READ_URLS); a caller who just wrote
must still see the write. After a transaction that wrote, the primary's WAL position
(LSN) is noted; the response carries it (header ``Gridgeo-LSN`` and a cookie) and the
caller's next request, on whichever web node, sends it back. A replica that has not
replayed that far does not serve the read: the primary does (gridgeo.db.pool).
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from gridgeo.errors import RequestError

LSN_HEADER = "Gridgeo-LSN"
LSN_COOKIE = "gridgeo_lsn"
# Long enough for any healthy replica to catch up; a paused one is read around until then.
LSN_COOKIE_SECONDS = 300
_LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")

_required: ContextVar[str | None] = ContextVar("gridgeo_required_lsn", default=None)
_written: ContextVar[str | None] = ContextVar("gridgeo_written_lsn", default=None)


def is_lsn(text: str) -> bool:
    return _LSN.fullmatch(text.strip()) is not None


def parse_lsn(text: str) -> str:
    """A WAL position as PostgreSQL writes it (e.g. 0/1A2B3C4D); else a 400."""
    if not is_lsn(text):
        raise RequestError(
            f"{LSN_HEADER} must be a WAL position as a previous response sent it "
            f"(e.g. 0/1A2B3C4D), not {text[:40]!r}; send it back unchanged or leave it out.")
    return text.strip().upper()


def begin_request(lsn: str | None) -> None:
    """The position this request's reads must see (None: any replica will do)."""
    _required.set(parse_lsn(lsn) if lsn else None)
    _written.set(None)


def required_lsn() -> str | None:
    return _required.get()


def written_lsn() -> str | None:
    """Where this request's last write ended on the primary (None: it wrote nothing)."""
    return _written.get()


def note_commit(lsn: str) -> None:
    """A transaction wrote and committed at ``lsn``: this caller's reads must see it."""
    _written.set(lsn)
    _required.set(lsn)
