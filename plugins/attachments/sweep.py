"""The attachment sweep: rows without their files, files without their row.

The unit of work (unit.py) leaves neither behind, short of a crash between placing the
blobs and committing the row, a lost disk or a restore of the database without the
files. The sweep finds both kinds, removes files no row names (each under the content
hash's lock, so an upload of the same bytes in flight is waited for, never undone) and
reports rows whose files are gone (those need the files back from a backup: the sweep
cannot make evidence up). A scheduled task runs it daily; its outcome is the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from gridgeo_plugins.attachments.unit import HASH_LOCK, blob_keys

from gridgeo.storage import AttachmentStore

MAX_LISTED = 20  # ids named in the report; the count says the rest


@dataclass
class SweepReport:
    rows_without_files: list[int] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    listed_files: bool = True

    def __str__(self) -> str:
        parts = []
        if self.rows_without_files:
            ids = ", ".join(map(str, self.rows_without_files[:MAX_LISTED]))
            more = len(self.rows_without_files) - MAX_LISTED
            parts.append(f"{len(self.rows_without_files)} attachment row(s) without their "
                         f"file: {ids}{f' and {more} more' if more > 0 else ''}; restore "
                         "the files from a backup")
        if self.files_removed:
            parts.append(f"{len(self.files_removed)} file(s) without a row removed")
        if not self.listed_files:
            parts.append("the attachment store cannot list its files, so only rows were "
                         "checked")
        return "; ".join(parts) + "." if parts else "every attachment row has its files " \
            "and every file its row."


def _stored_keys(store: AttachmentStore) -> set[str] | None:
    keys = getattr(store, "keys", None)
    return set(keys()) if callable(keys) else None


def _missing(store: AttachmentStore, stored: set[str] | None, sha256: str,
             has_thumbnail: bool) -> bool:
    original, public, thumbnail = blob_keys(sha256)
    wanted = (original, public, thumbnail) if has_thumbnail else (original, public)
    if stored is not None:
        return not stored.issuperset(wanted)
    return any(store.get(key) is None for key in wanted)


def rows_without_files(conn: psycopg.Connection, store: AttachmentStore) -> list[int]:
    stored = _stored_keys(store)
    rows = conn.execute("SELECT id, sha256, has_thumbnail FROM gridgeo.attachments"
                        " ORDER BY id").fetchall()
    return [int(row_id) for row_id, sha, thumb in rows
            if _missing(store, stored, sha, thumb)]


def _hash_of(key: str) -> str:
    return key.split(".", 1)[0]


def remove_unnamed_files(conn: psycopg.Connection, store: AttachmentStore) -> list[str]:
    """Remove the files whose hash no row names, each hash checked under its lock."""
    by_hash: dict[str, list[str]] = {}
    for key in _stored_keys(store) or ():
        by_hash.setdefault(_hash_of(key), []).append(key)
    removed: list[str] = []
    for sha256, stored in sorted(by_hash.items()):
        conn.execute(HASH_LOCK, (sha256,))
        named = conn.execute("SELECT EXISTS (SELECT 1 FROM gridgeo.attachments"
                             " WHERE sha256 = %s)", (sha256,)).fetchone()
        if named and not named[0]:
            for key in sorted(stored):
                store.delete(key)
                removed.append(key)
    return removed


def sweep(conn: psycopg.Connection, store: AttachmentStore) -> SweepReport:
    """Check every row and, when the store can list them, every file (a maintenance
    connection: the sweep sees every row whatever its item's access rules)."""
    report = SweepReport(rows_without_files=rows_without_files(conn, store))
    if callable(getattr(store, "keys", None)):
        report.files_removed = remove_unnamed_files(conn, store)
    else:
        report.listed_files = False
    return report
