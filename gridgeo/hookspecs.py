"""Every gridgeo hook. Plugins implement them with ``from gridgeo import hookimpl``.

Hooks are grouped by when the core calls them. None of them is firstresult:
every plugin's answer is collected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from gridgeo.contributions import (
    CollectionContribution,
    Delivery,
    DeliveryOutcome,
    Gauge,
    IncidentCategory,
    Migration,
    ProcessContribution,
    ScheduledTask,
)

if TYPE_CHECKING:
    from pathlib import Path

    import psycopg
    from flask import Blueprint

    from gridgeo.importer.prepare import PreparedLayer
    from gridgeo.importer.problems import LayerProblem
    from gridgeo.settings import Settings
    from gridgeo.storage import AttachmentStore

hookspec = pluggy.HookspecMarker("gridgeo")


# ---------------------------------------------------------------------------
# Schema: called by `gridgeo db migrate` (and by the test suite's setup)
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_migrations() -> list[Migration]:
    """Return schema migrations that belong to no served collection.

    Used for shared tables (staff, departments, assignments). Migrations of a
    collection travel with it in ``gridgeo_collections`` instead. Called once per
    migrate run; every plugin's list is applied in dependency order.
    """


@hookspec
def gridgeo_reference_data(conn: psycopg.Connection) -> None:
    """Upsert the reference rows this plugin owns (categories, code lists).

    Called after ``gridgeo db migrate`` and after the demo town is loaded, inside the
    caller's transaction; implementations must be idempotent.
    """


# ---------------------------------------------------------------------------
# Domain data that plugins extend
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_incident_categories() -> list[IncidentCategory]:
    """Return incident categories to offer (upserted by the incidents plugin's
    ``gridgeo_reference_data``); a plugin's category may name a built-in parent."""


# ---------------------------------------------------------------------------
# Importing: called by `gridgeo import`, inside the import's one transaction
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_import_problems(conn: psycopg.Connection, layer: PreparedLayer, srid: int,
                            earlier: list[PreparedLayer]) -> list[LayerProblem]:
    """Return problems of an import layer that only several rows, or the stored data, show
    (the topology plugin: gaps and overlaps between grids).

    Called once per table layer after its rows are checked one by one, with the layers
    prepared before it and the deployment's metric SRID; every plugin's problems are added
    to the layer's report. A layer with problems is not written.
    """


@hookspec
def gridgeo_terrain_changed(conn: psycopg.Connection, dem_path: Path) -> int:
    """Recompute what depends on the roads and the terrain; return the number of roads
    updated (the patrol plugin: walking times from the DEM).

    Called after ``gridgeo import`` replaces the road network (when a DEM is installed) or
    the DEM, in the import's transaction; the answers are summed for the report.
    """


# ---------------------------------------------------------------------------
# Serving: called when the effective pygeoapi configuration is rendered
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_collection_links(collection_id: str, server_url: str) -> list[dict[str, Any]]:
    """Return extra links for a collection's document (e.g. its vector tilesets).

    Called when the configuration is rendered, once per collection; every plugin's
    links are appended after the collection's own and its style links.
    """


@hookspec
def gridgeo_collections() -> list[CollectionContribution]:
    """Return the collections this plugin serves, with their migrations and styles.

    Called when the configuration is rendered (``gridgeo config``, ``gridgeo
    serve``) and when migrating. Ids must be unique across plugins.
    """


@hookspec
def gridgeo_processes() -> list[ProcessContribution]:
    """Return the OGC API processes this plugin offers.

    Called when the configuration is rendered. Each processor class is loaded
    by pygeoapi from its dotted path, so it must be importable where the server runs.
    """


@hookspec
def gridgeo_item_links(conn: psycopg.Connection, collection_id: str, item_id: str,
                       server_url: str) -> list[dict[str, Any]]:
    """Return extra links for one item's GeoJSON document (e.g. its attachments as
    ``rel=enclosure`` links with type, title and length).

    Called for every single-item answer of gridgeo's collections, inside the transaction
    that read the item as the caller (row-level security applies), after the item was
    found; every plugin's links are appended after self, alternate and collection.
    """


@hookspec
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    """Return OpenAPI 3.0 path items for the routes this plugin's blueprints answer
    (e.g. ``/collections/grids/tiles``), keyed by path.

    Called once when the WSGI app is created; merged into the document pygeoapi serves
    (a path pygeoapi already has is left as it is). Paths below a collection are hidden
    from callers who may not read that collection, like the collection itself.
    """


@hookspec
def gridgeo_conformance_classes() -> list[str]:
    """Return the OGC conformance class URIs this plugin's routes implement (e.g. OGC API
    Tiles' core and mvt classes for the tile routes).

    Called once when the WSGI app is created; every plugin's classes are added to the
    ``/conformance`` declaration pygeoapi makes from its own resources.
    """


@hookspec
def gridgeo_blueprints() -> list[Blueprint]:
    """Return Flask blueprints with routes of this plugin's own (QR images, GPX, intake).

    Called once when the WSGI app is created, in every server process. Routes are
    registered beside pygeoapi's; they see the request's identity through
    ``gridgeo.identity.current_identity()``. Raise ``gridgeo.errors.RequestError``
    for a clear 4xx.
    """


# ---------------------------------------------------------------------------
# Periodic work: called when `gridgeo scheduler` starts
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    """Return periodic tasks (escalation sweeps, due-list reminders, scheduled reports).

    Called once when a scheduler process starts. Each task runs once per period of
    ``every_seconds`` (periods are aligned to the epoch) across every scheduler on the
    database, inside the transaction that claims the period.
    """


# ---------------------------------------------------------------------------
# Operations: called when Prometheus scrapes /metrics
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_gauges() -> list[Gauge]:
    """Return figures for /metrics that the database holds (queue depth, overdue cases).

    Called on every scrape of /metrics, in the web worker that answers it; each
    ``Gauge.sql`` runs in one read transaction that sees every row. Keep the queries
    cheap: Prometheus scrapes every 15-60 s.
    """


# ---------------------------------------------------------------------------
# Storage: called on first use of attachment files
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_attachment_store(settings: Settings) -> AttachmentStore | None:
    """Return a store for attachment blobs (shared disk, S3-compatible), or None.

    Called once per server process, on the first upload or download. With no plugin
    offering one, blobs are files under ``GRIDGEO_HOME/data/attachments``; two plugins
    offering one is an error. See ``gridgeo.storage.AttachmentStore`` for the methods.
    """


# ---------------------------------------------------------------------------
# Notifications: called by the notification delivery sweep (plugins/notify)
# ---------------------------------------------------------------------------


@hookspec
def gridgeo_notification_channels() -> list[str]:
    """Return the channels this plugin delivers (``webhook``, ``email``, ``wecom``).

    Called when a subscription is created (its channel must be one of them) and by the
    delivery sweep; a channel two plugins name is an error.
    """


@hookspec
def gridgeo_deliver_event(delivery: Delivery) -> DeliveryOutcome | None:
    """Deliver one incident event to one destination; None when ``delivery.channel`` is
    not this plugin's.

    Called by the delivery sweep (a scheduled task) for each due delivery, in the
    transaction that claimed it (FOR UPDATE SKIP LOCKED: one sweep per delivery), so the
    outcome and the claim commit together. Send with a time limit and never raise for a
    failed send: answer ``DeliveryOutcome(delivered=False, error=...)`` and the sweep
    retries with backoff until ``GRIDGEO_WEBHOOK_MAX_TRIES``. Exactly one plugin answers.
    """
