"""Processes that store what they compute follow the write rule of what they store.

A process says so in its ``PROCESS_METADATA``::

    "writes": {"collection": "grid_police_crosswalk", "input": "write_crosswalk"}

``collection`` is the collection the process changes, ``input`` the boolean input that
switches storing on and off. The core checks the caller's write right once, before
every execution (sync or async, as the caller: ``gridgeo.jobs.manager.run_processor``):
without it the input is set to false, so the process still computes and answers but
changes nothing, and a JSON answer says ``"stored": false`` and why. Plugins do not
check rights themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gridgeo.identity import Identity, current_identity
from gridgeo.security.access import allowed


@dataclass(frozen=True)
class StoreRefusal:
    """Why this execution may not store: the caller lacks the write right."""

    collection: str
    why: str


def may_write(identity: Identity, collection_id: str) -> bool:
    """Whether ``identity`` may write a served collection (its configured access rule)."""
    from pygeoapi.flask_app import CONFIG

    resource = CONFIG["resources"].get(collection_id) or {"type": "collection"}
    return allowed(identity, collection_id, resource, "write")


def store_refusal(metadata: dict[str, Any], data: Any, identity: Identity | None = None
                  ) -> StoreRefusal | None:
    """None if the process stores nothing (it writes nothing, or the caller switched
    storing off) or the caller may write what it stores."""
    writes = metadata.get("writes")
    if not writes or not isinstance(data, dict) or data.get(writes["input"]) is False:
        return None
    who = identity or current_identity()
    if may_write(who, writes["collection"]):
        return None
    role = "anonymous callers" if who.is_anonymous else "your role"
    return StoreRefusal(writes["collection"], (
        f"{role} may not write {writes['collection']}, so nothing was stored; the result "
        "was computed all the same. Send credentials of a role that may write it to store."))


def without_storing(metadata: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The inputs with the process's store switch turned off."""
    return {**data, metadata["writes"]["input"]: False}


def note_refusal(mimetype: str, outputs: Any, refusal: StoreRefusal) -> Any:
    """A JSON object answer with ``stored: false`` and ``why``; other answers as they are."""
    if "json" not in (mimetype or ""):
        return outputs
    document = outputs
    if isinstance(outputs, bytes | str):
        try:
            document = orjson.loads(outputs)
        except orjson.JSONDecodeError:
            return outputs
    if not isinstance(document, dict):
        return outputs
    noted = {**document, "stored": False, "why": refusal.why}
    return orjson.dumps(noted) if isinstance(outputs, bytes | str) else noted
