"""The demo town's notifications: contacts, a webhook, and the deliveries of its sweep.

Staff and departments get e-mail addresses under ``.invalid`` (a domain that never
resolves: RFC 2606), and a webhook subscription points at a loopback port nothing listens
on. The escalation sweep at load then fills the outbox, and one delivery sweep runs, as the
scheduler would: with the demo's settings no receiver can be reached (no mail server, the
loopback not on the allow-list, or nothing listening), so the delivery log shows every
delivery retrying or given up, each with its sentence. That is the honest state of a town
whose receivers are not set up yet; an admin subscribes real ones at /notifications.
"""

from __future__ import annotations

import psycopg

DOMAIN = "demo.gridgeo.invalid"
# The discard port: nothing listens on it, so a try fails at once, never hangs.
WEBHOOK_URL = "http://127.0.0.1:9/gridgeo-demo"
WEBHOOK_SECRET = "gridgeo-demo-webhook-secret"  # signs deliveries nobody receives
ROUNDS = 100  # delivery sweeps of BATCH each at most: ends well before on any demo scale

_CONTACT_COLUMNS = """
SELECT count(*) = 2 FROM information_schema.columns
 WHERE table_schema = 'gridgeo' AND column_name = 'email'
   AND table_name IN ('staff', 'departments')"""


def notifications_installed(conn: psycopg.Connection) -> bool:
    """The notify plugin's columns are there (a deployment may leave the plugin out)."""
    row = conn.execute(_CONTACT_COLUMNS).fetchone()
    return bool(row and row[0])


def remove_subscription(conn: psycopg.Connection) -> None:
    """The demo's webhook, which the demo's truncate does not reach (subscriptions are
    configuration): removed with the demo, replaced when it is generated again."""
    conn.execute("DELETE FROM gridgeo.notify_subscriptions WHERE created_by = 'demo'")


def add_contacts(conn: psycopg.Connection) -> None:
    """Addresses for every active staff member and department, and the demo's webhook
    (told warnings and escalations only: the events a town most wants pushed)."""
    remove_subscription(conn)
    conn.execute("UPDATE gridgeo.staff SET email = lower(staff_no) || %s WHERE active",
                 (f"@{DOMAIN}",))
    conn.execute("UPDATE gridgeo.departments SET email = 'office-' || lower(code) || %s",
                 (f"@{DOMAIN}",))
    conn.execute("INSERT INTO gridgeo.notify_subscriptions (channel, url, secret, event_kinds,"
                 " description, created_by) VALUES ('webhook', %s, %s,"
                 " '{warning,escalation}', 'demo: a receiver not set up yet', 'demo')",
                 (WEBHOOK_URL, WEBHOOK_SECRET))


def deliver(conn: psycopg.Connection) -> str:
    """Run the notify plugin's delivery task until nothing is due; its outcomes summed."""
    from gridgeo.scheduler import collect_tasks

    tasks = [t for t in collect_tasks() if t.name == "notify-deliver"]
    counts: dict[str, int] = {}
    for task in tasks:
        for _ in range(ROUNDS):
            outcome = task.run(conn)
            if outcome == "none due":
                break
            for part in outcome.split(", "):
                number, state = part.split(" ", 1)
                counts[state] = counts.get(state, 0) + int(number)
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"
