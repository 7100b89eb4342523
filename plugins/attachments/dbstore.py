"""``DatabaseStore``: attachment blobs as rows of ``gridgeo.attachment_blobs``.

The store for deployments with several web nodes (``GRIDGEO_ATTACHMENT_STORE=database``):
any node serves any attachment with nothing shared but PostgreSQL (no shared mount), and a
database backup holds the files with their rows.
"""

from __future__ import annotations

from gridgeo.db.pool import connection


class DatabaseStore:
    """Blobs in the database, through the request's pooled connection.

    Each call is a transaction of its own, committed before the upload's row, as the
    attachments plugin's unit of work (plugins/attachments/unit.py) expects of any store;
    inside a ``unit_of_work`` (an upload sent with an Idempotency-Key) it joins the unit,
    so the blob commits or rolls back with its row.
    """

    def put(self, key: str, data: bytes) -> None:
        with connection() as conn:
            conn.execute("INSERT INTO gridgeo.attachment_blobs (key, data) VALUES (%s, %s)"
                         " ON CONFLICT (key) DO NOTHING", (key, data))

    def get(self, key: str) -> bytes | None:
        with connection() as conn:
            row = conn.execute("SELECT data FROM gridgeo.attachment_blobs WHERE key = %s",
                               (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete(self, key: str) -> None:
        with connection() as conn:
            conn.execute("DELETE FROM gridgeo.attachment_blobs WHERE key = %s", (key,))
