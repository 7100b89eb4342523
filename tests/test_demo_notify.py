"""The demo town's notifications (issue #16): its staff and departments have addresses, a
webhook is subscribed, and the escalation sweep at load left deliveries in the log, each
tried once with a sentence saying why it was not delivered (no receiver is set up in the
demo); the log's counts tell delivered, retrying and given up at a glance; /me shows the
caller's own contacts and the staff import reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import requests

from gridgeo.demo.notify import DOMAIN, WEBHOOK_URL, add_contacts
from gridgeo.importer.run import run_import
from tests.conftest import ROLE_KEYS, empty_database, fetch_row

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}


def log(base_url: str) -> dict[str, Any]:
    answer = requests.get(f"{base_url}/notifications/deliveries", params={"limit": "1000"},
                          headers=ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_demo_log_shows_its_sweeps_notifications(base_url: str) -> None:
    """Every delivery the load made was tried once: none is waiting for a first try, each
    not delivered says why; the staff told and the webhook each have theirs (the demo's
cases have no department yet: tests/test_notify.py mails a department told)."""
    answer = log(base_url)
    demo = [d for d in answer["deliveries"] if d["kind"] in ("warning", "escalation")]
    assert len(demo) >= 50
    assert {d["state"] for d in demo} <= {"pending", "given_up"}
    assert all(d["attempts"] >= 1 and d["error"] for d in demo)
    assert {d["channel"] for d in demo} == {"email", "webhook"}
    assert any(d["recipient_staff_no"] for d in demo)
    assert any(d["subscription_id"] for d in demo)
    assert DOMAIN not in json.dumps(answer)  # the log names people, never their address
    counts = answer["counts"]
    assert set(counts) == {"delivered", "pending", "retrying", "given_up"}
    assert counts["given_up"] + counts["retrying"] >= len(demo)


def test_the_demo_is_set_up_like_a_town_without_receivers(conn: psycopg.Connection) -> None:
    staff, departments, hook = fetch_row(conn, """
        SELECT (SELECT count(*) FILTER (WHERE email LIKE %s) = count(*)
                  FROM gridgeo.staff WHERE active),
               (SELECT count(*) FILTER (WHERE email IS NOT NULL) FROM gridgeo.departments),
               (SELECT array_agg(url) FROM gridgeo.notify_subscriptions
                 WHERE created_by = 'demo')""", (f"%@{DOMAIN}",))
    assert staff and departments > 0
    assert hook in (None, [WEBHOOK_URL])  # tests/test_notify.py deletes subscriptions
    add_contacts(conn)  # the demo generated again: its webhook replaced, not doubled
    again = fetch_row(conn, "SELECT array_agg(url) FROM gridgeo.notify_subscriptions"
                      " WHERE created_by = 'demo'")[0]
    assert again == [WEBHOOK_URL]


def test_the_log_counts_its_states(conn: psycopg.Connection, base_url: str) -> None:
    """A retrying delivery (tried, due again) is counted apart from one not yet tried."""
    before = log(base_url)["counts"]
    outbox = fetch_row(conn, "SELECT id FROM gridgeo.notify_outbox ORDER BY id LIMIT 1")[0]
    conn.execute("INSERT INTO gridgeo.notify_deliveries (outbox_id, channel, state, attempts,"
                 " next_try_at) VALUES (%(o)s, 'email', 'pending', 2, now() + interval '1 day'),"
                 " (%(o)s, 'email', 'pending', 0, now() + interval '1 day'),"
                 " (%(o)s, 'email', 'delivered', 1, now())", {"o": outbox})
    conn.commit()
    try:
        after = log(base_url)["counts"]
    finally:
        conn.execute("DELETE FROM gridgeo.notify_deliveries WHERE outbox_id = %s AND"
                     " next_try_at > now() + interval '1 hour' OR (outbox_id = %s AND"
                     " state = 'delivered')", (outbox, outbox))
        conn.commit()
    assert {k: after[k] - before[k] for k in after} == {
        "delivered": 1, "pending": 1, "retrying": 1, "given_up": 0}


STAFF_CSV = "工号,姓名,角色,邮箱,企业微信,钉钉\n" \
            "N1001,王芳,网格员,wang.fang@town.test,wangfang,ding-wf\n" \
            "N1002,赵磊,网格长,,,\n" \
            "N1003,孙丽,网格员,not-an-address,,\n"
MAPPING = """county_code: "410399"
layers:
  - target: staff
    source: staff.csv
    fields:
      staff_no: 工号
      name: 姓名
      role: {from: 角色, map: {网格员: grid_worker, 网格长: grid_leader}}
      email: 邮箱
      wecom_id: 企业微信
      dingtalk_id: 钉钉
"""


def test_the_staff_import_reads_contacts(tmp_path: Path) -> None:
    from gridgeo.db.pool import connect
    from gridgeo.importer.mapping import load_plan

    (tmp_path / "staff.csv").write_text(STAFF_CSV, encoding="utf-8")
    (tmp_path / "town.yml").write_text(MAPPING, encoding="utf-8")
    with empty_database("demo_notify_import") as url, connect(url) as conn:
        report = run_import(conn, load_plan(tmp_path / "town.yml"),
                            dem_dest=tmp_path / "dem.tif", accept_rejects=True)
        assert report.written
        [layer] = [layer for layer in report.layers if layer.target == "staff"]
        assert [(r.row, "email" in r.reason) for r in layer.rejects] == [(3, True)]
        rows = conn.execute("SELECT staff_no, email, wecom_id, dingtalk_id FROM gridgeo.staff"
                            " ORDER BY staff_no").fetchall()
    assert rows == [("N1001", "wang.fang@town.test", "wangfang", "ding-wf"),
                    ("N1002", None, None, None)]


def test_me_shows_the_callers_own_contacts(conn: psycopg.Connection, base_url: str) -> None:
    """Their own e-mail and robot ids are theirs to see; nobody else's are in the answer."""
    from tests.test_incidents import staff_token

    mine, other = [r[0] for r in conn.execute(
        "SELECT staff_no FROM gridgeo.staff WHERE active AND role = 'grid_worker'"
        " ORDER BY staff_no LIMIT 2")]
    conn.execute("UPDATE gridgeo.staff SET wecom_id = 'wecom-me' WHERE staff_no = %s", (mine,))
    conn.commit()
    try:
        answer = requests.get(f"{base_url}/me", headers=staff_token(mine, "grid_worker"),
                              timeout=30)
    finally:
        conn.execute("UPDATE gridgeo.staff SET wecom_id = NULL WHERE staff_no = %s", (mine,))
        conn.commit()
    assert answer.status_code == 200, answer.text
    assert answer.json()["staff"]["contact"] == {
        "email": f"{mine.lower()}@{DOMAIN}", "wecom_id": "wecom-me", "dingtalk_id": None}
    assert f"{other.lower()}@{DOMAIN}" not in answer.text
