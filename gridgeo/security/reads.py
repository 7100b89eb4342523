"""Reading personal data is itself logged: who read which items' personal fields, when.

One row in gridgeo.personal_data_reads per answer that carried personal values (a
reporter's phone, a greenhouse operator's ID number...), whatever the format. The row is
written through the app's primary pool, in its own transaction, so it is kept even when
the read itself is served elsewhere (a read replica) and cannot be rolled back with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson

from gridgeo.db.pool import connection
from gridgeo.identity import current_identity

MAX_IDS = 10_000  # one answer's ids; a larger page is logged by its first ids and a count


def personal_item_ids(features: Iterable[Mapping[str, Any]],
                      fields: Collection[str]) -> list[str]:
    """The ids of the features that carry a value in any personal field."""
    return [str(f.get("id")) for f in features
            if any((f.get("properties") or {}).get(name) is not None for name in fields)]


def personal_ids_in_texts(texts: Iterable[str], fields: Collection[str]) -> list[str]:
    """``personal_item_ids`` of features given as the database's GeoJSON texts."""
    return personal_item_ids((orjson.loads(t) for t in texts), fields)


def log_personal_read(collection: str, fields: Collection[str], item_ids: list[str],
                      path: str | None = None) -> None:
    """Record that the current caller received ``fields`` of ``item_ids`` (nothing to
    record when no item carried a personal value)."""
    if not item_ids or not fields:
        return
    identity = current_identity()
    ids = item_ids if len(item_ids) <= MAX_IDS else [*item_ids[:MAX_IDS],
                                                     f"+{len(item_ids) - MAX_IDS} more"]
    with connection() as conn:
        conn.execute(
            "INSERT INTO gridgeo.personal_data_reads (actor, staff_no, roles, collection,"
            " item_ids, fields, path) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (identity.subject or "anonymous", identity.staff_no,
             ",".join(sorted(identity.roles)), collection, ids, sorted(fields), path))
