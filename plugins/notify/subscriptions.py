"""Subscriptions as data: ``/notifications/subscriptions`` (admins) and the delivery log.

A subscription names a channel (``webhook``, or a robot channel a plugin offers), a URL on
the allow-list, a secret (written, never answered) and a filter: event kinds, categories,
colours (empty: any). Every check runs before anything is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from flask import Blueprint, Response, request
from psycopg.rows import dict_row

from gridgeo import outbound
from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError
from gridgeo.identity import current_identity

blueprint = Blueprint("gridgeo_notify", __name__)
BASE = "/notifications"
# The kinds of gridgeo.incident_events (docs/field-operations.md#the-history).
EVENT_KINDS = ("state", "colour", "dispatch", "reassign", "warning", "escalation")
FIELDS = ("channel", "url", "secret", "events", "categories", "colours", "description")
MIN_SECRET = 16
_COLUMNS = ("id, channel, url, event_kinds, categories, colours, description, created_at,"
            " created_by")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def require_admin() -> None:
    identity = current_identity()
    if identity.is_anonymous:
        raise RequestError("notifications need credentials: send 'Authorization: Bearer "
                           "<token or API key>' of an admin.", 401, "Unauthorized")
    if "admin" not in identity.roles:
        raise RequestError("only an admin manages notifications.", 403, "Forbidden")


def channels() -> list[str]:
    from gridgeo.plugins import get_plugin_manager

    return sorted({c for batch in get_plugin_manager().hook.gridgeo_notification_channels()
                   for c in batch})


def _names(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError(f"{field} must be a list of strings (empty or left out: any).")
    return sorted(set(value))


def _known(conn: psycopg.Connection, field: str, given: list[str], query: str,
           fixed: tuple[str, ...] = ()) -> None:
    known = set(fixed) or {r[0] for r in conn.execute(query).fetchall()}
    unknown = [g for g in given if g not in known]
    if unknown:
        raise RequestError(f"{field}: no such {field[:-1] if field != 'colours' else 'colour'} "
                           f"{', '.join(unknown)}; known are {', '.join(sorted(known))}.")


def checked(conn: psycopg.Connection, body: Any) -> dict[str, Any]:
    """The subscription to write, or a 400 that says what to fix."""
    if not isinstance(body, dict):
        raise RequestError('the body must be a JSON object: {"url": ..., "secret": ..., '
                           '"events": [...]}.')
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise RequestError(f"a subscription has no field {', '.join(unknown)}; it takes "
                           f"{', '.join(FIELDS)}.")
    channel = body.get("channel", "webhook")
    offered = channels()
    if channel not in offered:
        raise RequestError(f"channel {channel!r} is not offered here; the channels are "
                           f"{', '.join(c for c in offered if c != 'email')}.")
    if channel == "email":
        raise RequestError("e-mail goes to the staff an escalation tells (their staff "
                           "records' addresses); it takes no subscription.")
    try:
        outbound.check_url(str(body.get("url") or ""), field="url")
    except outbound.OutboundRefused as exc:
        raise RequestError(str(exc)) from None
    secret = body.get("secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < MIN_SECRET):
        raise RequestError(f"secret must be a string of at least {MIN_SECRET} characters.")
    if channel == "webhook" and secret is None:
        raise RequestError(f"a webhook needs a secret (at least {MIN_SECRET} characters) to "
                           "sign its deliveries with; keep it to verify them.")
    events, categories, colours = (_names(body, f) for f in ("events", "categories", "colours"))
    _known(conn, "events", events, "", EVENT_KINDS)
    _known(conn, "categories", categories, "SELECT code FROM gridgeo.incident_categories")
    _known(conn, "colours", colours, "SELECT colour FROM gridgeo.incident_colours")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise RequestError("description must be a string.")
    return {"channel": channel, "url": body["url"].strip(), "secret": secret,
            "event_kinds": events, "categories": categories, "colours": colours,
            "description": description}


def masked_url(url: str) -> str:
    """A robot's key travels in its query string: answered masked, like a secret."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(query=query))


def described(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "channel": row["channel"], "url": masked_url(row["url"]),
            "events": row["event_kinds"], "categories": row["categories"],
            "colours": row["colours"], "description": row["description"],
            "created_at": row["created_at"].isoformat(), "created_by": row["created_by"],
            "links": [{"rel": "self", "href": f"{BASE}/subscriptions/{row['id']}"},
                      {"rel": "related", "title": "deliveries",
                       "href": f"{BASE}/deliveries?subscription={row['id']}"}]}


@blueprint.post(f"{BASE}/subscriptions")
def create() -> Response:
    require_admin()
    body = request.get_json(silent=True, force=True)
    with connection() as conn:
        values = checked(conn, body)
        row = conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO gridgeo.notify_subscriptions (channel, url, secret, event_kinds,"
            " categories, colours, description) VALUES (%(channel)s, %(url)s, %(secret)s,"
            " %(event_kinds)s, %(categories)s, %(colours)s, %(description)s)"
            f" RETURNING {_COLUMNS}", values).fetchone()
    assert row is not None  # INSERT ... RETURNING answers its row
    response = json_response(described(row), 201)
    response.headers["Location"] = f"{BASE}/subscriptions/{row['id']}"
    return response


@blueprint.get(f"{BASE}/subscriptions")
def listing() -> Response:
    require_admin()
    with connection(read=True) as conn:
        rows = conn.cursor(row_factory=dict_row).execute(
            f"SELECT {_COLUMNS} FROM gridgeo.notify_subscriptions ORDER BY id").fetchall()
    return json_response({"subscriptions": [described(r) for r in rows], "channels": channels()})


def _id(subscription_id: str) -> int:
    if not subscription_id.isdigit() or len(subscription_id) > 9:
        raise NotFound(f"No subscription {subscription_id}.")
    return int(subscription_id)


@blueprint.get(f"{BASE}/subscriptions/<subscription_id>")
def one(subscription_id: str) -> Response:
    require_admin()
    with connection(read=True) as conn:
        row = conn.cursor(row_factory=dict_row).execute(
            f"SELECT {_COLUMNS} FROM gridgeo.notify_subscriptions WHERE id = %s",
            (_id(subscription_id),)).fetchone()
    if row is None:
        raise NotFound(f"No subscription {subscription_id}.")
    return json_response(described(row))


@blueprint.delete(f"{BASE}/subscriptions/<subscription_id>")
def delete(subscription_id: str) -> Response:
    """Deleted; its pending deliveries are given up by the next sweep, its log stays."""
    require_admin()
    with connection() as conn:
        gone = conn.execute("DELETE FROM gridgeo.notify_subscriptions WHERE id = %s",
                            (_id(subscription_id),)).rowcount
    if not gone:
        raise NotFound(f"No subscription {subscription_id}.")
    return Response(status=204)

