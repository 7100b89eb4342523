"""The delivery sweep: due deliveries claimed, handed to the channel plugins, logged.

Runs as a scheduled task, in the transaction that claims its period. Each due delivery
is locked (FOR UPDATE SKIP LOCKED) so no two sweeps send it; its outcome commits with the
claim. A process that dies mid-sweep commits nothing, so its deliveries are tried again:
a receiver may see a delivery twice (the ``Gridgeo-Delivery`` header tells it), never
none.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridgeo.contributions import Delivery, DeliveryOutcome, Recipient

LOGGER = logging.getLogger(__name__)
BATCH = 50

_DUE = """
SELECT d.id, d.channel, d.attempts, d.subscription_id, d.recipient_staff_no,
       d.recipient_department_code, o.payload, s.url, s.secret
  FROM gridgeo.notify_deliveries d
  JOIN gridgeo.notify_outbox o ON o.id = d.outbox_id
  LEFT JOIN gridgeo.notify_subscriptions s ON s.id = d.subscription_id
 WHERE d.state = 'pending' AND d.next_try_at <= clock_timestamp()
 ORDER BY d.next_try_at, d.id LIMIT %s
   FOR UPDATE OF d SKIP LOCKED"""
# Everyone an event tells (an escalation's staff), with their channels.
_RECIPIENTS = """
SELECT s.staff_no, s.name, s.email, s.wecom_id, s.dingtalk_id
  FROM gridgeo.staff s WHERE s.active AND s.staff_no = ANY (%s) ORDER BY s.staff_no"""
# A department told is reached at its office's address; it has no robot ids.
_DEPARTMENT = "SELECT code, name, email, NULL, NULL FROM gridgeo.departments WHERE code = %s"


def told_staff(event: dict[str, Any]) -> list[str]:
    told = (event.get("detail") or {}).get("told") or []
    return [t["code"] for t in told if isinstance(t, dict) and t.get("kind") == "staff"]


def recipients(conn: psycopg.Connection, staff_nos: list[str]) -> tuple[Recipient, ...]:
    rows = conn.execute(_RECIPIENTS, (staff_nos,)).fetchall()
    return tuple(Recipient(*row) for row in rows)


def department_recipient(conn: psycopg.Connection, code: str) -> tuple[Recipient, ...]:
    row = conn.execute(_DEPARTMENT, (code,)).fetchone()
    return (Recipient(*row),) if row else ()


def as_delivery(conn: psycopg.Connection, row: dict[str, Any]) -> Delivery:
    event = row["payload"]
    people = [row["recipient_staff_no"]] if row["recipient_staff_no"] else told_staff(event)
    if row["recipient_department_code"]:
        told = department_recipient(conn, row["recipient_department_code"])
    else:
        told = recipients(conn, people) if people else ()
    return Delivery(id=row["id"], channel=row["channel"], event=event,
                    attempt=row["attempts"] + 1, url=row["url"], secret=row["secret"],
                    recipients=told)


def attempt(delivery: Delivery, subscribed: bool) -> DeliveryOutcome:
    """One try through the plugin whose channel it is."""
    from gridgeo.plugins import get_plugin_manager

    if delivery.channel != "email" and not subscribed:
        return DeliveryOutcome(False, error="the subscription was deleted.", final=True)
    answers = [a for a in get_plugin_manager().hook.gridgeo_deliver_event(delivery=delivery)
               if a is not None]
    if not answers:
        return DeliveryOutcome(False, error=f"no plugin delivers the channel "
                               f"{delivery.channel!r} (is it disabled?).", final=True)
    return answers[0]


def record(conn: psycopg.Connection, delivery: Delivery, outcome: DeliveryOutcome,
           max_tries: int, backoff_s: float) -> str:
    """Log the attempt: delivered, given up (the last try, or a final refusal), or due
    again after ``backoff_s`` doubled per earlier attempt."""
    if outcome.delivered:
        state = "delivered"
    elif outcome.final or delivery.attempt >= max_tries:
        state = "given_up"
    else:
        state = "pending"
    wait = timedelta(seconds=backoff_s * 2 ** (delivery.attempt - 1))
    conn.execute(
        "UPDATE gridgeo.notify_deliveries SET state = %s, attempts = %s, status_code = %s,"
        " error = %s, updated_at = clock_timestamp(),"
        " delivered_at = CASE WHEN %s THEN clock_timestamp() END,"
        " next_try_at = CASE WHEN %s = 'pending' THEN clock_timestamp() + %s"
        " ELSE next_try_at END WHERE id = %s",
        (state, delivery.attempt, outcome.status_code, outcome.error, outcome.delivered,
         state, wait, delivery.id))
    return state


def deliver_due(conn: psycopg.Connection) -> str:
    """Try every due delivery once (at most BATCH); a short outcome for the run log."""
    from gridgeo.settings import get_settings

    settings = get_settings()
    rows = conn.cursor(row_factory=dict_row).execute(_DUE, (BATCH,)).fetchall()
    counts: dict[str, int] = {}
    for row in rows:
        delivery = as_delivery(conn, row)
        try:
            outcome = attempt(delivery, row["subscription_id"] is not None)
        except Exception as exc:  # a broken plugin is a failed try, not a lost sweep
            LOGGER.exception("delivery %s (%s) failed in its plugin", delivery.id,
                             delivery.channel)
            outcome = DeliveryOutcome(False, error=f"the {delivery.channel} plugin failed "
                                      f"({type(exc).__name__}); see the server log.")
        state = record(conn, delivery, outcome, settings.webhook_max_tries,
                       settings.webhook_backoff_s)
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none due"
