"""``GET /notifications/deliveries``: the delivery log, for admins.

Each delivery: its event, channel, subscription or recipient (a staff number, never an
address), attempts, the last status code and error sentence, the next try, and whether it
was delivered or given up. Newest first; ``state``, ``subscription`` and ``limit`` narrow it.
``counts`` tells the state of the whole log at a glance: delivered, waiting for a first
try (pending), retrying (failed at least once, tried again later) and given up.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from gridgeo_plugins.notify.subscriptions import BASE, blueprint, json_response, require_admin
from psycopg.rows import dict_row

from gridgeo.db.pool import connection
from gridgeo.errors import RequestError

STATES = ("pending", "delivered", "given_up")
MAX_LIMIT = 1000

_LOG = """
SELECT d.id, d.channel, d.subscription_id, d.recipient_staff_no,
       d.recipient_department_code, d.state, d.attempts,
       d.status_code, d.error, d.next_try_at, d.delivered_at, d.updated_at,
       o.event_id, o.kind, o.payload ->> 'case_no' AS case_no
  FROM gridgeo.notify_deliveries d JOIN gridgeo.notify_outbox o ON o.id = d.outbox_id
 WHERE (%(state)s::text IS NULL OR d.state = %(state)s)
   AND (%(subscription)s::integer IS NULL OR d.subscription_id = %(subscription)s)
 ORDER BY d.id DESC LIMIT %(limit)s"""
# A pending delivery that has been tried is retrying: the first sign of a receiver down.
_COUNTS = """
SELECT count(*) FILTER (WHERE state = 'delivered'),
       count(*) FILTER (WHERE state = 'pending' AND attempts = 0),
       count(*) FILTER (WHERE state = 'pending' AND attempts > 0),
       count(*) FILTER (WHERE state = 'given_up')
  FROM gridgeo.notify_deliveries"""
COUNTED = ("delivered", "pending", "retrying", "given_up")


def _filters() -> dict[str, Any]:
    state = request.args.get("state")
    if state is not None and state not in STATES:
        raise RequestError(f"state must be one of {', '.join(STATES)}.")
    subscription = request.args.get("subscription")
    if subscription is not None and not (subscription.isdigit() and len(subscription) < 10):
        raise RequestError("subscription must be a subscription's id (a number).")
    limit = request.args.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise RequestError(f"limit must be a number from 1 to {MAX_LIMIT}.")
    return {"state": state, "subscription": int(subscription) if subscription else None,
            "limit": int(limit)}


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
    entry["given_up"] = row["state"] == "given_up"
    if row["state"] != "pending":
        entry["next_try_at"] = None
    return entry


@blueprint.get(f"{BASE}/deliveries")
def deliveries() -> Response:
    require_admin()
    filters = _filters()
    with connection(read=True) as conn:
        rows = conn.cursor(row_factory=dict_row).execute(_LOG, filters).fetchall()
        counts = conn.execute(_COUNTS).fetchone() or (0,) * len(COUNTED)
    return json_response({"counts": dict(zip(COUNTED, counts, strict=True)),
                          "deliveries": [_entry(r) for r in rows]})
