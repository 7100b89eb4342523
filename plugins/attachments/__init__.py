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
from gridgeo.catalog import load_collection_dir, load_migrations
from gridgeo.contributions import CollectionContribution, Migration, ScheduledTask
from gridgeo.settings import Settings
from gridgeo.storage import AttachmentStore


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("attachments", Path(__file__).parent / "schema"))


@hookimpl
def gridgeo_collections() -> list[CollectionContribution]:
    """``photos``: every photo with its thumbnail, for lists and maps."""
    from gridgeo.resources import styles_dir

    return [load_collection_dir(Path(__file__).parent / "photos", [styles_dir()])]


@hookimpl
def gridgeo_attachment_store(settings: Settings) -> AttachmentStore | None:
    """Blobs in PostgreSQL with ``GRIDGEO_ATTACHMENT_STORE=database`` (several web nodes,
    nothing shared but the database); else None: files under GRIDGEO_ATTACHMENTS_DIR."""
    if settings.attachment_store != "database":
        return None
    from gridgeo_plugins.attachments.dbstore import DatabaseStore

    return DatabaseStore()


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.attachments.routes import blueprint

    return [blueprint]


@hookimpl
def gridgeo_item_links(conn: psycopg.Connection, collection_id: str, item_id: str,
                       server_url: str) -> list[dict[str, Any]]:
    """Each attachment as an enclosure (type and length of what this caller receives), a
    photo's thumbnail as its preview (for lists and map pop-ups), and an Open311 case's
    media_url (the hotline's own photo link) for roles that see personal data."""
    from gridgeo_plugins.attachments import records
    from gridgeo_plugins.attachments.routes import href, personal

    target = records.ATTACHABLE.get(collection_id)
    if target is None or not item_id.isdigit():
        return []
    own = personal(collection_id)
    links: list[dict[str, Any]] = []
    for row in records.listed(conn, target, int(item_id)):
        link = href(server_url, target, int(item_id), row.id)
        title = row.title or f"attachment {row.id}"
        links.append({"rel": "enclosure", "type": row.media_type if own else row.public_type,
                      "title": title, "length": row.length if own else row.public_length,
                      "href": link})
        if row.has_thumbnail:
            links.append({"rel": "preview", "type": "image/jpeg", "title": title,
                          "href": f"{link}/thumbnail"})
    media_url = records.media_url(conn, target, int(item_id)) if own else None
    if media_url:
        links.append({"rel": "related", "title": "media_url (Open311)", "href": media_url})
    return links


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    from gridgeo_plugins.attachments.openapi import attachment_paths

    return attachment_paths()


def attachments_sweep(conn: psycopg.Connection) -> str:
    """Rows without files and files without rows, as the run log's outcome (sweep.py)."""
    from gridgeo_plugins.attachments.sweep import sweep

    from gridgeo.storage import get_store

    return str(sweep(conn, get_store()))


@hookimpl
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    return [ScheduledTask("attachments-sweep", 24 * 3600, attachments_sweep)]
