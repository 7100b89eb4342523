"""An upload and its row as one unit of work: no orphan blob, no row without its blob.

The order, inside the caller's transaction:

1. take a transaction lock on the content hash (``pg_advisory_xact_lock``), so no other
   upload or clean-up of the same bytes runs in between;
2. place the blobs in the store (each written to a temporary name, then renamed into
   place: see ``gridgeo.storage.FileStore``);
3. insert the row; the transaction commits, which releases the lock.

A committed row therefore always has its blobs: they were in place before the commit.
When the transaction rolls back (a refusal, a trigger, a failed commit), ``Placements``
removes the blobs it placed, under the same lock, unless a committed row of another
item already holds the same bytes. Only a process killed between steps 2 and 3 can leave
a blob without a row, which nobody can reach and the next upload of those bytes reuses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from gridgeo.db.pool import connection
from gridgeo.storage import AttachmentStore, get_store

LOGGER = logging.getLogger(__name__)
HASH_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('gridgeo.attachment:' || %s, 0))"


def blob_keys(sha256: str) -> tuple[str, str, str]:
    """The store keys of an attachment: the original, the public copy, the thumbnail."""
    return sha256, f"{sha256}.public", f"{sha256}.thumbnail"


class Placements:
    """The blobs placed during one transaction, to remove if it does not commit."""

    def __init__(self, store: AttachmentStore):
        self.store = store
        self.placed: list[str] = []

    def place(self, conn: psycopg.Connection, sha256: str, blobs: dict[str, bytes]) -> None:
        """Lock the hash for the transaction, then store each blob not stored yet."""
        conn.execute(HASH_LOCK, (sha256,))
        for key, data in blobs.items():
            self.store.put(key, data)
        self.placed.append(sha256)

    def undo(self) -> None:
        """After a rollback: remove each placed hash's blobs that no committed row uses."""
        for sha256 in self.placed:
            try:
                with connection() as conn:
                    conn.execute(HASH_LOCK, (sha256,))
                    used = conn.execute("SELECT EXISTS (SELECT 1 FROM gridgeo.attachments"
                                        " WHERE sha256 = %s)", (sha256,)).fetchone()
                    if used and not used[0]:
                        for key in blob_keys(sha256):
                            self.store.delete(key)
            except (psycopg.Error, OSError) as exc:  # the refusal itself must still reach
                LOGGER.error("could not remove the blobs of %s: %s", sha256, exc)


@contextmanager
def placements() -> Iterator[Placements]:
    """Wrap a transaction in this: blobs placed inside it go away unless it commits.

    ``with placements() as placed, write_transaction() as conn:`` closes the transaction
    first, so ``undo`` sees its outcome."""
    placed = Placements(get_store())
    try:
        yield placed
    except BaseException:
        placed.undo()
        raise
