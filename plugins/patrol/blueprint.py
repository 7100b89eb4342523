"""GET /patrol-routes/<route_no>.gpx: a stored patrol as GPX 1.1 for a phone's map app."""

from __future__ import annotations

from flask import Blueprint, Response
from gridgeo_plugins.patrol.gpx import patrols_to_gpx
from gridgeo_plugins.patrol.store import load_route

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound
from gridgeo.security.access import require_for

patrol_blueprint = Blueprint("patrol_routes_gpx", __name__)


@patrol_blueprint.get("/patrol-routes/<route_no>.gpx")
def route_gpx(route_no: str) -> Response:
    require_for("patrol_routes", "read")  # where and when a worker will be: not public
    with connection() as conn:
        route = load_route(conn, route_no)
    if route is None:
        raise NotFound(f"no patrol route {route_no!r}")
    body = patrols_to_gpx([route], f"{route['route_no']} {route['name']}")
    return Response(body, mimetype="application/gpx+xml", headers={
        "Content-Disposition": f'attachment; filename="{route_no}.gpx"'})
