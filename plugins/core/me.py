"""``GET /me``: who the caller is and what is theirs today.

The staff member behind the credentials (an API key's or a JWT's staff_no) with their own
notification contacts (e-mail, WeCom and DingTalk ids: theirs to see), the roles,
the grids and police grids assigned to them, their open cases, the counts of their due
lists and their patrol routes today. Read as the caller, so row-level security holds.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError
from gridgeo.identity import Identity, current_identity

blueprint = Blueprint("gridgeo_me", __name__)
MAX_CASES = 200

_STAFF = """
SELECT s.id, s.staff_no, s.name, s.role, s.work_phone, s.department_code, d.name,
       to_jsonb(s) ->> 'email', to_jsonb(s) ->> 'wecom_id', to_jsonb(s) ->> 'dingtalk_id'
  FROM gridgeo.staff s LEFT JOIN gridgeo.departments d ON d.code = s.department_code
 WHERE s.staff_no = %s AND s.active"""
# The caller's own notification contacts (the notify plugin's columns, absent without it:
# read through to_jsonb). Personal data, shown to the person it is about and no one else.
CONTACTS = ("email", "wecom_id", "dingtalk_id")
_GRIDS = """
SELECT g.code, g.name, g.level, a.role FROM gridgeo.grid_assignments a
  JOIN gridgeo.grids g ON g.code = a.grid_code WHERE a.staff_id = %s ORDER BY g.code, a.role"""
_POLICE_GRIDS = """
SELECT p.code, p.name FROM gridgeo.police_grid_assignments a
  JOIN gridgeo.police_grids p ON p.code = a.police_grid_code
 WHERE a.staff_id = %s ORDER BY p.code"""
# A grid worker's cases are the ones the database made theirs (grid_worker_id); an
# officer's, those in the police grids they answer for.
_CASES = """
SELECT case_no, title, category_name, state, colour, deadline_at, overdue, grid_code
  FROM gridgeo.incidents_view
 WHERE NOT gridgeo.incident_state_is_final(state)
   AND (grid_worker_id = %(staff)s OR police_grid_code = ANY (%(police)s))
 ORDER BY overdue DESC, deadline_at NULLS LAST, case_no LIMIT %(limit)s"""
_DUE = """
SELECT (SELECT count(*) FROM gridgeo.greenhouses_due WHERE grid_code = ANY (%(grids)s)),
       (SELECT count(*) FROM gridgeo.mine_tunnels_due WHERE grid_code = ANY (%(grids)s))"""
_ROUTES = """
SELECT route_no, name, patrol_kind, travel_mode, starts_at, length_m, duration_s
  FROM gridgeo.patrol_routes
 WHERE patrol_date = (now() AT TIME ZONE gridgeo.local_tz())::date
   AND (assignee_id = %(staff)s OR created_by_staff_no = %(staff_no)s)
 ORDER BY starts_at NULLS LAST, route_no"""


def _rows(cur: psycopg.Cursor[Any]) -> list[dict[str, Any]]:
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def whoami(conn: psycopg.Connection, identity: Identity) -> dict[str, Any]:
    """The /me document of ``identity``; staff parts are empty when no staff record
    matches (a system such as the hotline, or a key that names no staff member)."""
    subject = identity.subject or ""
    body: dict[str, Any] = {
        "subject": subject, "roles": sorted(identity.roles), "staff": None,
        "system": subject.removeprefix("system:") if subject.startswith("system:") else None,
        "grids": [], "police_grids": [], "open_cases": [], "open_case_count": 0,
        "due": {"greenhouses": 0, "mine_tunnels": 0}, "routes_today": []}
    row = conn.execute(_STAFF, (identity.staff_no,)).fetchone() if identity.staff_no else None
    if row is None:
        return body
    staff_id = row[0]
    body["staff"] = {"staff_no": row[1], "name": row[2], "role": row[3], "work_phone": row[4],
                     "department": {"code": row[5], "name": row[6]},
                     "contact": dict(zip(CONTACTS, row[7:10], strict=True))}
    body["grids"] = _rows(conn.execute(_GRIDS, (staff_id,)))
    body["police_grids"] = _rows(conn.execute(_POLICE_GRIDS, (staff_id,)))
    police = [g["code"] for g in body["police_grids"]]
    cases = _rows(conn.execute(_CASES, {"staff": staff_id, "police": police,
                                        "limit": MAX_CASES + 1}))
    body["open_case_count"] = len(cases)
    body["open_cases"] = cases[:MAX_CASES]
    grids = [g["code"] for g in body["grids"]]
    due = conn.execute(_DUE, {"grids": grids}).fetchone()
    assert due is not None
    body["due"] = {"greenhouses": due[0], "mine_tunnels": due[1]}
    body["routes_today"] = _rows(conn.execute(_ROUTES, {"staff": staff_id,
                                                        "staff_no": identity.staff_no}))
    return body


def openapi_path() -> dict[str, object]:
    """``GET /me`` in the OpenAPI document."""
    problem = {"application/json": {"schema": {"type": "object", "properties": {
        "code": {"type": "string"}, "description": {"type": "string"}}}}}
    return {"get": {
        "summary": "Who I am: my roles, grids, police grids, open cases, due lists and "
                   "routes today", "tags": ["me"], "operationId": "getMe",
        "responses": {
            "200": {"description": "The caller and their work.", "content": {
                "application/json": {"schema": {"type": "object", "required": [
                    "subject", "roles", "grids", "police_grids", "open_cases", "due",
                    "routes_today"]}}}},
            "401": {"description": "No credentials (or credentials that do not verify).",
                    "content": problem}}}}


@blueprint.get("/me")
def me() -> Response:
    identity = current_identity()
    if identity.is_anonymous:
        raise RequestError("/me answers who you are: send 'Authorization: Bearer <token or "
                           "API key>'.", 401, "Unauthorized")
    with connection() as conn:
        body = whoami(conn, identity)
    return Response(orjson.dumps(body), mimetype="application/json",
                    headers={"Cache-Control": "private, no-store"})
