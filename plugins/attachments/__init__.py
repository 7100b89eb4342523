"""Attachments: photos (JPEG, PNG, HEIC) and PDFs on incidents and inspections (scans).

``POST /collections/{id}/items/{itemId}/attachments`` takes a multipart form or a raw
body; the item lists them as ``rel=enclosure`` links and at ``.../attachments``. Files
are checked by content, kept as evidence under their SHA-256 in the attachment store
(``gridgeo.storage``), and served under the item's own access rules: roles with
personal-data rights receive the original, others a copy without EXIF or GPS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Migration


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("attachments", Path(__file__).parent / "schema"))


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.attachments.routes import blueprint

    return [blueprint]


@hookimpl
def gridgeo_item_links(conn: psycopg.Connection, collection_id: str, item_id: str,
                       server_url: str) -> list[dict[str, Any]]:
    """Each attachment as an enclosure: type and length of what this caller receives."""
    from gridgeo_plugins.attachments import records
    from gridgeo_plugins.attachments.routes import href, personal

    target = records.ATTACHABLE.get(collection_id)
    if target is None or not item_id.isdigit():
        return []
    own = personal(collection_id)
    return [{"rel": "enclosure", "type": row.media_type if own else row.public_type,
             "title": row.title or f"attachment {row.id}",
             "length": row.length if own else row.public_length,
             "href": href(server_url, target, int(item_id), row.id)}
            for row in records.listed(conn, target, int(item_id))]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    from gridgeo_plugins.attachments.openapi import attachment_paths

    return attachment_paths()
