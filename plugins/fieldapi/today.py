"""``GET /me/today``: a grid worker's day in one document, for the field app.

The worker (as ``/me`` names them), their grids as GeoJSON, what is due in those grids
(the greenhouses_due and mine_tunnels_due views), their open cases, today's patrol
routes with line and ordered stops, and the bounding box of their grids. Everything is
read by one statement, so the parts are one snapshot of the database, and as the caller,
so row-level security and the privacy rules hold (no resident or reporter data).
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError
from gridgeo.identity import Identity, current_identity

MAX_DUE = 500  # per list; a worker's grids hold tens
MAX_CASES = 200

# The staff member, then their grids (ids and outlines), then each part of the day as a
# JSON value. Due lists and cases carry a position (a point on the item) for the phone's
# list-to-map jump; the full outlines come from the vector tiles.
TODAY = """
WITH me AS (
    SELECT s.id, s.staff_no, s.name, s.role, s.work_phone, s.department_code,
           d.name AS department_name
      FROM gridgeo.staff s LEFT JOIN gridgeo.departments d ON d.code = s.department_code
     WHERE s.staff_no = %(staff_no)s AND s.active
), mine AS (
    SELECT g.code, g.name, g.level, g.geom,
           array_agg(DISTINCT a.role ORDER BY a.role) AS roles
      FROM gridgeo.grid_assignments a JOIN me ON me.id = a.staff_id
      JOIN gridgeo.grids g ON g.code = a.grid_code
     GROUP BY g.code, g.name, g.level, g.geom
), codes AS (
    SELECT coalesce(array_agg(code), '{}') AS codes, ST_Extent(geom) AS box FROM mine
)
SELECT
  (SELECT json_build_object('staff_no', staff_no, 'name', name, 'role', role,
                            'work_phone', work_phone, 'department',
                            json_build_object('code', department_code,
                                              'name', department_name)) FROM me),
  (SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
              json_build_object('type', 'Feature', 'id', code,
                                'geometry', ST_AsGeoJSON(geom, 7)::json,
                                'properties', json_build_object('code', code, 'name', name,
                                    'level', level, 'roles', roles)) ORDER BY code), '[]'))
     FROM mine),
  (SELECT coalesce(json_agg(json_build_object(
              'id', d.id, 'gh_no', d.gh_no, 'use', d.use, 'status', d.status,
              'last_scanned_at', d.last_scanned_at, 'grid_code', d.grid_code,
              'qr_payload', d.qr_payload, 'position', ARRAY[
                  round(ST_X(ST_PointOnSurface(d.geom))::numeric, 7),
                  round(ST_Y(ST_PointOnSurface(d.geom))::numeric, 7)])
              ORDER BY d.gh_no), '[]')
     FROM (SELECT * FROM gridgeo.greenhouses_due, codes
            WHERE grid_code = ANY (codes.codes) ORDER BY gh_no LIMIT %(max_due)s) d),
  (SELECT coalesce(json_agg(json_build_object(
              'id', d.id, 'adit_no', d.adit_no, 'name', d.name, 'status', d.status,
              'patrol_frequency_days', d.patrol_frequency_days,
              'last_inspected_at', d.last_inspected_at,
              'inspection_due_on', d.inspection_due_on, 'days_overdue', d.days_overdue,
              'grid_code', d.grid_code, 'qr_payload', d.qr_payload,
              'position', ARRAY[round(ST_X(d.geom)::numeric, 7),
                                round(ST_Y(d.geom)::numeric, 7)])
              ORDER BY d.inspection_due_on, d.adit_no), '[]')
     FROM (SELECT * FROM gridgeo.mine_tunnels_due, codes
            WHERE grid_code = ANY (codes.codes)
            ORDER BY inspection_due_on, adit_no LIMIT %(max_due)s) d),
  (SELECT coalesce(json_agg(json_build_object(
              'case_no', c.case_no, 'title', c.title, 'category_code', c.category_code,
              'category_name', c.category_name, 'state', c.state, 'colour', c.colour,
              'reported_at', c.reported_at, 'accept_deadline_at', c.accept_deadline_at,
              'deadline_at', c.deadline_at, 'due_at', c.due_at, 'overdue', c.overdue,
              'near_due', c.near_due, 'grid_code', c.grid_code,
              'assigned_to_me', c.assigned, 'reported_by_me', c.reported,
              'position', ARRAY[round(ST_X(c.geom)::numeric, 7),
                                round(ST_Y(c.geom)::numeric, 7)])
              ORDER BY c.overdue DESC, c.due_at NULLS LAST, c.case_no), '[]')
     FROM (SELECT v.*, (v.grid_worker_id = me.id OR v.assignee_staff_no = me.staff_no)
                       AS assigned,
                  EXISTS (SELECT FROM gridgeo.incident_events e
                           WHERE e.incident_id = v.id AND e.from_state IS NULL
                             AND e.staff_no = me.staff_no) AS reported
             FROM gridgeo.incidents_view v, me
            WHERE NOT gridgeo.incident_state_is_final(v.state)
              AND (v.grid_worker_id = me.id OR v.assignee_staff_no = me.staff_no
                   OR v.id IN (SELECT e.incident_id FROM gridgeo.incident_events e
                                WHERE e.from_state IS NULL AND e.staff_no = me.staff_no))
            ORDER BY v.overdue DESC, v.due_at NULLS LAST, v.case_no
            LIMIT %(max_cases)s) c),
  (SELECT coalesce(json_agg(json_build_object(
              'route_no', r.route_no, 'name', r.name, 'patrol_kind', r.patrol_kind,
              'travel_mode', r.travel_mode, 'patrol_date', r.patrol_date,
              'starts_at', r.starts_at, 'length_m', r.length_m, 'duration_s', r.duration_s,
              'assigned_to_me', r.assignee_id = me.id,
              'geometry', ST_AsGeoJSON(r.geom, 7)::json,
              'stops', (SELECT coalesce(jsonb_agg(s ORDER BY (s ->> 'seq')::integer), '[]')
                          FROM jsonb_array_elements(r.stops) s))
              ORDER BY r.starts_at NULLS LAST, r.route_no), '[]')
     FROM gridgeo.patrol_routes r, me, codes
    WHERE r.patrol_date = (now() AT TIME ZONE gridgeo.local_tz())::date
      -- Mine: assigned to me or stored by me; unassigned routes through my grids too.
      AND (r.assignee_id = me.id OR r.created_by_staff_no = me.staff_no
           OR (r.assignee_id IS NULL AND EXISTS (
                   SELECT FROM mine WHERE ST_Intersects(mine.geom, r.geom))))),
  (SELECT CASE WHEN box IS NOT NULL THEN json_build_array(
              round(ST_XMin(box)::numeric, 7), round(ST_YMin(box)::numeric, 7),
              round(ST_XMax(box)::numeric, 7), round(ST_YMax(box)::numeric, 7)) END
     FROM codes)
"""
_PARTS = ("staff", "grids", "greenhouses", "adits", "cases", "routes", "bbox")


def require_staff(identity: Identity, what: str) -> str:
    """The caller's staff number, or the 401/403 sentence saying which key is needed."""
    if identity.is_anonymous:
        raise RequestError(f"{what} answers for a staff member: send 'Authorization: Bearer "
                           "<token or API key>'.", 401, "Unauthorized")
    if not identity.staff_no:
        raise RequestError(f"{what} is a staff member's own: this key names a role "
                           f"({', '.join(sorted(identity.roles))}), not a person; use a "
                           "personal API key (one with a staff_no) or your own sign-in "
                           "token.", 403, "Forbidden")
    return identity.staff_no


def worker_today(conn: psycopg.Connection, identity: Identity) -> dict[str, Any]:
    """The /me/today document of the staff member behind ``identity``."""
    staff_no = require_staff(identity, "/me/today")
    row = conn.execute(TODAY, {"staff_no": staff_no, "max_due": MAX_DUE,
                               "max_cases": MAX_CASES}).fetchone()
    assert row is not None  # one row, always
    part = dict(zip(_PARTS, row, strict=True))
    if part["staff"] is None:
        raise RequestError(f"no active staff member has the number {staff_no}; ask an "
                           "administrator to add you to the staff list.", 403, "Forbidden")
    return {
        "worker": {"subject": identity.subject, "roles": sorted(identity.roles),
                   "staff": part["staff"]},
        "grids": part["grids"],
        "due": {"greenhouses": part["greenhouses"], "adits": part["adits"]},
        "cases": part["cases"], "routes": part["routes"], "bbox": part["bbox"]}


def today_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_fieldapi_today", __name__)

    @blueprint.get("/me/today")
    def today() -> Response:
        identity = current_identity()
        require_staff(identity, "/me/today")
        with connection() as conn:
            body = worker_today(conn, identity)
        return Response(orjson.dumps(body), mimetype="application/json",
                        headers={"Cache-Control": "private, no-store"})

    return blueprint
