"""Built-in plugin: the ``patrol-route`` process and GPX downloads of stored patrols."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution

if TYPE_CHECKING:
    from pathlib import Path

    import psycopg
    from flask import Blueprint


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    # Staff only: a plan's stops are the due adits, which are not public.
    return [ProcessContribution(id="patrol-route",
                                processor="gridgeo_plugins.patrol.process.PatrolRouteProcessor",
                                access={"execute": ["viewer", "grid_worker", "police",
                                                    "gis_editor", "admin"]})]


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.patrol.blueprint import patrol_blueprint

    return [patrol_blueprint]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo.openapi_ops import answer, in_path, operation, refusal

    return {"/patrol-routes/{route_no}.gpx": {"get": operation(
        "A stored patrol route as GPX 1.1, for a phone's map app", "getPatrolRouteGpx",
        "patrol-route", {"200": answer("The route.", "application/gpx+xml"),
                         "404": refusal("No stored patrol route has that number.")},
        [in_path("route_no", "the route number the patrol-route process answered")])}}


@hookimpl
def gridgeo_terrain_changed(conn: psycopg.Connection, dem_path: Path) -> int:
    """Walking times of every road on the new terrain (Tobler's hiking function)."""
    from gridgeo_plugins.patrol.tobler import store_walk_costs

    return store_walk_costs(conn, dem_path)
