"""Notifications (issue #16): webhooks signed and retried against a real HTTP receiver,
e-mail through a real SMTP server, WeCom and DingTalk robots, process subscriber callbacks,
the transactional outbox and bad input.

The session server (which may call 127.0.0.1: tests/conftest.py) takes the subscriptions
and runs the process; the delivery sweep is the scheduled task the plugin offers, run by
the test with a tiny backoff, as a scheduler would each period. Everything a test adds to
the demo database it deletes again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from aiosmtpd.controller import Controller

from gridgeo.db.pool import connect
from gridgeo.scheduler import collect_tasks
from gridgeo.settings import get_settings
from tests.conftest import ROLE_KEYS, fetch_row, free_port

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
SECRET = "a-test-secret-of-32-characters!!"
ROBOT_SECRET = "SECdingtalk-robot-secret"
STAFF_NO = "NOTIFY-T1"
STAFF_EMAIL = "leader@town.test"
MAX_TRIES = 3


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP receiver: ``/flaky`` fails twice then succeeds, ``/down`` always fails, the
    robots answer errcode 0, anything else 200."""

    url: str
    seen: list[Received] = field(default_factory=list)
    flaky_failures: int = 2

    def at(self, path: str) -> list[Received]:
        return [r for r in self.seen if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.seen.append(Received(parts.path, parse_qs(parts.query),
                                          dict(self.headers), body))
            status, answer = 200, b"{}"
            if parts.path == "/flaky" and len(receiver.at("/flaky")) <= receiver.flaky_failures:
                status = 500
            elif parts.path == "/down":
                status = 503
            elif parts.path in ("/wecom", "/dingtalk"):
                answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@dataclass
class Town:
    url: str
    base: str
    receiver: Receiver
    mailbox: Mailbox
    incidents: list[int] = field(default_factory=list)
    staff: list[int] = field(default_factory=list)


@pytest.fixture()
def town(demo_db_url: str, base_url: str,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Town]:
    """An HTTP receiver and an SMTP server on loopback; this process's settings as a
    scheduler's would be (tiny backoff, 3 tries, the SMTP server). Afterwards every
    subscription, staff record and notification the test made is deleted (its incidents
    stay, fresh and reported, like those other API tests file: they are never deleted)."""
    receiver = Receiver(url="")
    http = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{http.server_address[1]}"
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    for name, value in {"WEBHOOK_BACKOFF_S": "0.05", "WEBHOOK_MAX_TRIES": str(MAX_TRIES),
                        "WEBHOOK_ALLOW": '["127.0.0.1"]', "WEBHOOK_TIMEOUT_S": "5",
                        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
                        "SMTP_FROM": "gridgeo@town.test"}.items():
        monkeypatch.setenv(f"GRIDGEO_{name}", value)
    get_settings.cache_clear()
    town = Town(demo_db_url, base_url, receiver, mailbox)
    try:
        yield town
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        smtp.stop()
        http.shutdown()
        with connect(demo_db_url) as conn:
            conn.execute("DELETE FROM gridgeo.notify_subscriptions")
            conn.execute("DELETE FROM gridgeo.notify_outbox WHERE incident_id = ANY (%s)",
                         (town.incidents,))
            conn.execute("DELETE FROM gridgeo.staff WHERE id = ANY (%s)", (town.staff,))
            conn.commit()


def sweep_until(town: Town, done: Callable[[], bool], what: str,
                seconds: float = 20.0) -> None:
    """Run the plugin's delivery task, as the scheduler does each period, until ``done``."""
    [task] = [t for t in collect_tasks() if t.name == "notify-deliver"]
    deadline = time.monotonic() + seconds
    with connect(town.url) as conn:
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} within {seconds} s")
            with conn.transaction():
                task.run(conn)
            time.sleep(0.05)
        conn.commit()


def subscribe(town: Town, **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{town.base}/notifications/subscriptions", json=body,
                           headers=ADMIN, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


# A case like a demo town's: its first open non-sensitive case's category and place.
_NEW_INCIDENT = """
INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)
SELECT i.category_code, %s, 'yellow', now() - %s::interval, i.geom
  FROM gridgeo.incidents i JOIN gridgeo.incident_categories c ON c.code = i.category_code
 WHERE NOT c.sensitive ORDER BY i.id LIMIT 1
RETURNING id, case_no, category_code"""


def new_incident(town: Town, conn: psycopg.Connection, title: str,
                 reported_ago: str = "0 seconds") -> tuple[int, str, str]:
    row = fetch_row(conn, _NEW_INCIDENT, (title, reported_ago))
    town.incidents.append(int(row[0]))
    return int(row[0]), str(row[1]), str(row[2])


def deliveries(town: Town, **params: Any) -> list[dict[str, Any]]:
    answer = requests.get(f"{town.base}/notifications/deliveries", params=params,
                          headers=ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["deliveries"]  # type: ignore[no-any-return]


def test_a_webhook_is_signed_retried_and_delivered_once(town: Town) -> None:
    with connect(town.url) as conn:
        category = fetch_row(conn, "SELECT i.category_code FROM gridgeo.incidents i JOIN"
                             " gridgeo.incident_categories c ON c.code = i.category_code"
                             " WHERE NOT c.sensitive ORDER BY i.id LIMIT 1")[0]
    flaky = subscribe(town, url=f"{town.receiver.url}/flaky", secret=SECRET,
                      events=["state"], categories=[category])
    down = subscribe(town, url=f"{town.receiver.url}/down", secret=SECRET, events=["state"],
                     colours=["yellow"], description="a receiver that is always down")
    assert "secret" not in flaky and flaky["events"] == ["state"]
    listed = requests.get(f"{town.base}/notifications/subscriptions", headers=ADMIN,
                          timeout=30).json()
    assert SECRET not in json.dumps(listed)
    assert {"webhook", "wecom", "dingtalk"} <= set(listed["channels"])
    with connect(town.url) as conn:
        _, case_no, _ = new_incident(town, conn, "路灯不亮")
        conn.commit()

    sweep_until(town, lambda: any(d["given_up"] for d in deliveries(
        town, subscription=down["id"])) and any(d["state"] == "delivered" for d in deliveries(
            town, subscription=flaky["id"])), "delivered to /flaky and given up on /down")

    calls = town.receiver.at("/flaky")
    assert len(calls) == 3  # failed, failed, delivered: then never again
    for call in calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(call.headers["Gridgeo-Signature"], expected)
        sent = json.loads(call.body)
        assert str(sent["sent_at"]) == call.headers["Gridgeo-Timestamp"]
        assert sent["event"]["case_no"] == case_no and sent["event"]["to_state"] == "reported"
    assert len({c.headers["Gridgeo-Delivery"] for c in calls}) == 1
    assert [json.loads(c.body)["attempt"] for c in calls] == [1, 2, 3]

    [done] = deliveries(town, subscription=flaky["id"])
    assert (done["attempts"], done["status_code"], done["error"], done["given_up"],
            done["next_try_at"]) == (3, 200, None, False, None)
    [gone] = deliveries(town, subscription=down["id"], state="given_up")
    assert (gone["attempts"], gone["status_code"], gone["given_up"]) == (MAX_TRIES, 503, True)
    assert gone["error"] == "the destination answered HTTP 503."
    assert len(town.receiver.at("/down")) == MAX_TRIES
    assert requests.delete(f"{town.base}/notifications/subscriptions/{down['id']}",
                           headers=ADMIN, timeout=30).status_code == 204
    assert requests.get(f"{town.base}/notifications/subscriptions/{down['id']}",
                        headers=ADMIN, timeout=30).status_code == 404


_ESCALATION = """
INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor, note,
                                     kind, detail)
VALUES (%(id)s, %(case_no)s, 'reported', 'reported', 'scheduler', '超期督办：升级至grid_leader',
        'escalation', jsonb_build_object('level', 1, 'to', 'grid_leader', 'told',
            jsonb_build_array(jsonb_build_object('kind', 'staff', 'code', %(staff)s::text,
                                                 'name', '通知网格长'))))"""


def test_an_escalation_mails_the_person_told_and_tells_the_robots(town: Town) -> None:
    subscribe(town, channel="wecom", url=f"{town.receiver.url}/wecom?key=robot-key",
              events=["escalation"])
    ding = subscribe(town, channel="dingtalk", secret=ROBOT_SECRET,
                     url=f"{town.receiver.url}/dingtalk?access_token=robot-token",
                     events=["escalation"])
    assert ding["url"].endswith("access_token=%2A%2A%2A")  # the robot's key is not answered
    with connect(town.url) as conn:
        staff = fetch_row(conn, "INSERT INTO gridgeo.staff (staff_no, name, role, email,"
                          " wecom_id, dingtalk_id) VALUES (%s, '通知网格长', 'grid_leader',"
                          " %s, 'wecom-leader', 'ding-leader') RETURNING id",
                          (STAFF_NO, STAFF_EMAIL))[0]
        town.staff.append(int(staff))
        incident, case_no, _ = new_incident(town, conn, "井盖缺失")
        # The escalation the sweep records (tests/test_incident_escalation.py), told STAFF_NO.
        conn.execute(_ESCALATION, {"id": incident, "case_no": case_no, "staff": STAFF_NO})
        conn.commit()

    sweep_until(town, lambda: bool(town.mailbox.messages) and bool(town.receiver.at(
        "/wecom")) and bool(town.receiver.at("/dingtalk")), "the mail and both robot messages")
    [(to, mail)] = town.mailbox.messages
    assert to == [STAFF_EMAIL] and case_no.encode() in mail
    wecom = json.loads(town.receiver.at("/wecom")[0].body)
    assert wecom["msgtype"] == "markdown"
    assert "<@wecom-leader>" in wecom["markdown"]["content"]
    assert case_no in wecom["markdown"]["content"]
    call = town.receiver.at("/dingtalk")[0]
    timestamp = call.query["timestamp"][0]
    digest = hmac.new(ROBOT_SECRET.encode(), f"{timestamp}\n{ROBOT_SECRET}".encode(),
                      hashlib.sha256).digest()
    assert call.query["sign"] == [base64.b64encode(digest).decode()]
    assert call.query["access_token"] == ["robot-token"]
    ding_body = json.loads(call.body)
    assert ding_body["at"]["atUserIds"] == ["ding-leader"]
    assert "@ding-leader" in ding_body["markdown"]["text"]

    log = deliveries(town)
    mails = [d for d in log if d["channel"] == "email" and d["case_no"] == case_no]
    assert [(m["recipient_staff_no"], m["state"]) for m in mails] == [(STAFF_NO, "delivered")]
    assert STAFF_EMAIL not in json.dumps(log)  # the log names no address


_WARNING_TO_DEPARTMENT = """
INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor, note,
                                     kind, detail)
VALUES (%(id)s, %(case_no)s, 'reported', 'reported', 'scheduler', '临期预警', 'warning',
        jsonb_build_object('level', 0, 'told', jsonb_build_array(jsonb_build_object(
            'kind', 'department', 'code', %(department)s::text, 'name', '通知测试科'))))"""
DEPARTMENT = "NOTIFY-D1"
DEPARTMENT_EMAIL = "duty@office.town.test"


def test_a_department_told_gets_its_own_mail(town: Town) -> None:
    with connect(town.url) as conn:
        conn.execute("INSERT INTO gridgeo.departments (code, name, kind, email) VALUES"
                     " (%s, '通知测试科', 'county_department', %s)",
                     (DEPARTMENT, DEPARTMENT_EMAIL))
        incident, case_no, _ = new_incident(town, conn, "路灯损坏")
        conn.execute(_WARNING_TO_DEPARTMENT, {"id": incident, "case_no": case_no,
                                              "department": DEPARTMENT})
        conn.commit()
    try:
        sweep_until(town, lambda: any(to == [DEPARTMENT_EMAIL]
                                      for to, _ in town.mailbox.messages),
                    "the department's mail")
        [mail] = [m for to, m in town.mailbox.messages if to == [DEPARTMENT_EMAIL]]
        assert case_no.encode() in mail
        mails = [d for d in deliveries(town) if d["case_no"] == case_no
                 and d["channel"] == "email"]
        assert [(m["recipient_department_code"], m["recipient_staff_no"], m["state"])
                for m in mails] == [(DEPARTMENT, None, "delivered")]
    finally:
        with connect(town.url) as conn:
            conn.execute("DELETE FROM gridgeo.departments WHERE code = %s", (DEPARTMENT,))
            conn.commit()


def test_the_sweep_tells_the_grid_leader_by_mail(conn: psycopg.Connection) -> None:
    """The real escalation sweep: an overdue case's grid leader, given an address, gets an
    e-mail delivery in the sweep's own transaction (rolled back here)."""
    incident, leader = fetch_row(conn, """
        INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)
        SELECT i.category_code, 'nobody took it', 'yellow', now() - interval '30 days', i.geom
          FROM gridgeo.incidents i
          JOIN gridgeo.incident_categories c ON c.code = i.category_code AND NOT c.sensitive
          JOIN gridgeo.grid_assignments a ON a.grid_code IN (i.grid_code, left(i.grid_code, 12))
                                          AND a.role = 'leader'
          JOIN gridgeo.staff s ON s.id = a.staff_id AND s.active
         ORDER BY i.id LIMIT 1
        RETURNING id, (SELECT s.staff_no FROM gridgeo.grid_assignments a
                         JOIN gridgeo.staff s ON s.id = a.staff_id AND s.active
                        WHERE a.grid_code IN (incidents.grid_code, left(incidents.grid_code, 12))
                          AND a.role = 'leader' ORDER BY s.staff_no LIMIT 1)""")
    conn.execute("UPDATE gridgeo.staff SET email = 'leader@demo.test' WHERE staff_no = %s",
                 (leader,))
    conn.execute("SELECT gridgeo.incident_escalation_sweep()")
    rows = conn.execute(
        "SELECT d.channel, d.recipient_staff_no, o.kind FROM gridgeo.notify_deliveries d"
        " JOIN gridgeo.notify_outbox o ON o.id = d.outbox_id WHERE o.incident_id = %s",
        (incident,)).fetchall()
    assert ("email", leader, "escalation") in rows


def test_a_process_subscriber_receives_its_callbacks(town: Town) -> None:
    hooks = {"successUri": f"{town.receiver.url}/job-done",
             "inProgressUri": f"{town.receiver.url}/job-running"}
    started = requests.post(f"{town.base}/processes/grid-topology/execution",
                            json={"inputs": {"level": "unit"}, "subscriber": hooks},
                            headers={"Prefer": "respond-async", **ADMIN}, timeout=60)
    assert started.status_code == 201, started.text
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    wait_for(lambda: bool(town.receiver.at("/job-done")), "the success callback", 60)
    assert json.loads(town.receiver.at("/job-running")[0].body)["jobID"] == job_id
    result = requests.get(f"{town.base}/jobs/{job_id}/results?f=json", headers=ADMIN,
                          timeout=30)
    assert json.loads(town.receiver.at("/job-done")[0].body) == result.json()

    elsewhere = requests.post(f"{town.base}/processes/grid-topology/execution", json={
        "inputs": {"level": "unit"}, "subscriber": {"successUri": "http://10.9.8.7/done"}},
        headers={"Prefer": "respond-async", **ADMIN}, timeout=60)
    assert elsewhere.status_code == 400
    assert "not on the allow-list" in elsewhere.json()["description"]


def wait_for(done: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.1)


@pytest.mark.parametrize(("body", "sentence"), [
    ({"url": "ftp://127.0.0.1/hook", "secret": SECRET}, "must be an http or https URL"),
    ({"url": "http://10.1.2.3/hook", "secret": SECRET}, "not on the allow-list"),
    ({"url": "http://127.0.0.1/hook", "secret": SECRET, "events": ["state", "exploded"]},
     "no such event exploded"),
    ({"url": "http://127.0.0.1/hook", "secret": SECRET, "colours": ["purple"]},
     "no such colour purple"),
    ({"url": "http://127.0.0.1/hook"}, "needs a secret"),
    ({"url": "http://127.0.0.1/hook", "secret": SECRET, "channel": "pager"},
     "not offered here"),
])
def test_bad_subscriptions_are_refused_and_nothing_written(
        base_url: str, body: dict[str, Any], sentence: str) -> None:
    path = f"{base_url}/notifications/subscriptions"
    before = requests.get(path, headers=ADMIN, timeout=30).json()["subscriptions"]
    answer = requests.post(path, json=body, headers=ADMIN, timeout=30)
    assert answer.status_code == 400 and sentence in answer.json()["description"], answer.text
    assert requests.get(path, headers=ADMIN, timeout=30).json()["subscriptions"] == before


def test_only_admins_manage_notifications(base_url: str) -> None:
    path = f"{base_url}/notifications/subscriptions"
    assert requests.get(path, timeout=30).status_code == 401
    assert requests.get(path, headers=VIEWER, timeout=30).status_code == 403
    assert requests.post(path, json={"url": "http://127.0.0.1/x", "secret": SECRET},
                         headers=VIEWER, timeout=30).status_code == 403
    assert requests.get(f"{base_url}/notifications/deliveries", headers=VIEWER,
                        timeout=30).status_code == 403


def test_the_outbox_holds_committed_events_only(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO gridgeo.notify_subscriptions (channel, url, secret)"
                 " VALUES ('webhook', 'http://127.0.0.1:9/never', %s)", (SECRET,))
    incident = fetch_row(conn, _NEW_INCIDENT, ("rolled back", "0 seconds"))[0]
    inside = fetch_row(conn, "SELECT count(*) FROM gridgeo.notify_outbox o"
                       " JOIN gridgeo.notify_deliveries d ON d.outbox_id = o.id"
                       " WHERE o.incident_id = %s", (incident,))
    conn.rollback()
    after = fetch_row(conn, "SELECT count(*) FROM gridgeo.notify_outbox"
                      " WHERE incident_id = %s", (incident,))
    assert inside == (1,) and after == (0,)


def test_robot_signature_matches_dingtalk_docs() -> None:
    from gridgeo_plugins.notify_robots.messages import dingtalk_signed_url

    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECx",
                              now_ms=1_700_000_000_000)
    digest = hmac.new(b"SECx", b"1700000000000\nSECx", hashlib.sha256).digest()
    sign = parse_qs(urlsplit(url).query)["sign"][0]
    assert sign == base64.b64encode(digest).decode()

