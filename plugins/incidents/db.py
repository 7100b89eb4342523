"""The incidents collection's write rule (writes go through gridgeo.db.pool.write_transaction)."""

from __future__ import annotations

from gridgeo.security.access import require_for


def require_writer(what: str) -> None:
    """The incidents collection's write rule: 401 for anonymous callers, 403 for roles
    that may not write (``what`` is kept for the callers' readability)."""
    require_for("incidents", "write")
