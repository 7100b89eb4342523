"""Notifications (issue #16): webhooks signed and retried against a real HTTP receiver,
e-mail through a real SMTP server, WeCom and DingTalk robots, process subscriber callbacks,
the transactional outbox and bad input. One server of the test's own on the field town, with
a scheduler that sweeps every second and a tiny backoff (GRIDGEO_WEBHOOK_BACKOFF_S)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from aiosmtpd.controller import Controller

from gridgeo.db.pool import connect
from tests.conftest import ROLE_KEYS, empty_database, free_port, server_env
from tests.field_town import CATEGORY, UNIT, ensure_field_town

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
SECRET = "a-test-secret-of-32-characters!!"
ROBOT_SECRET = "SECdingtalk-robot-secret"
LEADER = "T977N1"
LEADER_EMAIL = "leader@town.test"
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


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    """The field town with a grid leader who has an e-mail address and robot ids, served by
    a server that may call 127.0.0.1, sweeps notifications every second and mails through
    an SMTP server of the test's own."""
    receiver = Receiver(url="")
    http = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{http.server_address[1]}"
    threading.Thread(target=http.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with empty_database("notify") as url:
        with connect(url) as conn:
            ensure_field_town(conn)
            conn.execute("INSERT INTO gridgeo.staff (staff_no, name, role, department_code,"
                         " email, wecom_id, dingtalk_id) VALUES (%s, '通知网格长',"
                         " 'grid_leader', 'T977', %s, 'wecom-leader', 'ding-leader')",
                         (LEADER, LEADER_EMAIL))
            conn.execute("INSERT INTO gridgeo.grid_assignments (grid_code, staff_id, role)"
                         " SELECT %s, id, 'leader' FROM gridgeo.staff WHERE staff_no = %s",
                         (UNIT, LEADER))
            conn.commit()
        port = free_port()
        env = server_env(url, tmp_path_factory.mktemp("notify-home"), port)
        env.update(GRIDGEO_SCHEDULER="true", GRIDGEO_SCHEDULER_TICK_SECONDS="0.2",
                   GRIDGEO_NOTIFY_SWEEP_SECONDS="1", GRIDGEO_ESCALATION_SWEEP_SECONDS="86400",
                   GRIDGEO_WEBHOOK_BACKOFF_S="0.1", GRIDGEO_WEBHOOK_MAX_TRIES=str(MAX_TRIES),
                   GRIDGEO_WEBHOOK_ALLOW='["127.0.0.1"]', GRIDGEO_WEBHOOK_TIMEOUT_S="5",
                   GRIDGEO_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                   GRIDGEO_SMTP_FROM="gridgeo@town.test")
        cli = [sys.executable, "-m", "gridgeo.cli"]
        subprocess.run([*cli, "serve", "--background"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        try:
            yield Town(url, f"http://127.0.0.1:{port}", receiver, mailbox)
        finally:
            subprocess.run([*cli, "stop"], env=env, check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            smtp.stop()
            http.shutdown()


def wait_for(done: Callable[[], bool], what: str, seconds: float = 25.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.1)


def subscribe(town: Town, **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{town.base}/notifications/subscriptions", json=body,
                           headers=ADMIN, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def new_incident(town: Town, title: str, reported_ago: str = "0 seconds") -> tuple[int, str]:
    with connect(town.url) as conn:
        row = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, reported_at, geom)"
            " VALUES (%s, %s, 'yellow', now() - %s::interval,"
            " ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490)) RETURNING id, case_no",
            (CATEGORY, title, reported_ago)).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0]), str(row[1])


def deliveries(town: Town, **params: Any) -> list[dict[str, Any]]:
    answer = requests.get(f"{town.base}/notifications/deliveries", params=params,
                          headers=ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["deliveries"]  # type: ignore[no-any-return]


def test_a_webhook_is_signed_retried_and_delivered_once(town: Town) -> None:
    flaky = subscribe(town, url=f"{town.receiver.url}/flaky", secret=SECRET,
                      events=["state"], categories=[CATEGORY])
    down = subscribe(town, url=f"{town.receiver.url}/down", secret=SECRET, events=["state"],
                     colours=["yellow"], description="a receiver that is always down")
    assert "secret" not in flaky and flaky["events"] == ["state"]
    listed = requests.get(f"{town.base}/notifications/subscriptions", headers=ADMIN,
                          timeout=30).json()
    assert SECRET not in json.dumps(listed) and {"webhook", "wecom", "dingtalk"} <= set(
        listed["channels"])
    _, case_no = new_incident(town, "路灯不亮")

    wait_for(lambda: any(d["state"] == "delivered" for d in deliveries(
        town, subscription=flaky["id"])), "the flaky receiver's delivery delivered")
    wait_for(lambda: any(d["given_up"] for d in deliveries(town, subscription=down["id"])),
             "the down receiver's delivery given up")

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
    for sub in (flaky, down):  # the next tests' events go nowhere here
        assert requests.delete(f"{town.base}/notifications/subscriptions/{sub['id']}",
                               headers=ADMIN, timeout=30).status_code == 204


def test_an_escalation_mails_the_leader_and_tells_the_robots(town: Town) -> None:
    subscribe(town, channel="wecom", url=f"{town.receiver.url}/wecom?key=robot-key",
              events=["escalation"])
    ding = subscribe(town, channel="dingtalk", secret=ROBOT_SECRET,
                     url=f"{town.receiver.url}/dingtalk?access_token=robot-token",
                     events=["escalation"])
    assert ding["url"].endswith("access_token=%2A%2A%2A")  # the robot's key is not answered
    incident, case_no = new_incident(town, "井盖缺失", reported_ago="5 hours")
    with connect(town.url) as conn:  # the scheduler's sweep, run now: overdue → level 1
        conn.execute("SELECT gridgeo.incident_escalation_sweep()")
        conn.commit()

    wait_for(lambda: bool(town.mailbox.messages) and bool(town.receiver.at("/wecom"))
             and bool(town.receiver.at("/dingtalk")), "the mail and both robot messages")
    [(to, mail)] = town.mailbox.messages
    assert to == [LEADER_EMAIL] and case_no.encode() in mail
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

    mails = [d for d in deliveries(town) if d["channel"] == "email"]
    assert [(m["recipient_staff_no"], m["state"], m["case_no"]) for m in mails] == [
        (LEADER, "delivered", case_no)]
    assert LEADER_EMAIL not in json.dumps(deliveries(town))  # the log names no address
    assert incident > 0


def test_a_process_subscriber_receives_its_callbacks(town: Town) -> None:
    hooks = {"successUri": f"{town.receiver.url}/job-done",
             "inProgressUri": f"{town.receiver.url}/job-running"}
    started = requests.post(f"{town.base}/processes/grid-topology/execution",
                            json={"inputs": {"level": "unit"}, "subscriber": hooks},
                            headers={"Prefer": "respond-async", **ADMIN}, timeout=60)
    assert started.status_code == 201, started.text
    job_id = started.headers["Location"].rsplit("/", 1)[1]
    wait_for(lambda: bool(town.receiver.at("/job-done")), "the success callback")
    assert json.loads(town.receiver.at("/job-running")[0].body)["jobID"] == job_id
    result = requests.get(f"{town.base}/jobs/{job_id}/results?f=json", headers=ADMIN,
                          timeout=30)
    assert json.loads(town.receiver.at("/job-done")[0].body) == result.json()

    elsewhere = requests.post(f"{town.base}/processes/grid-topology/execution", json={
        "inputs": {"level": "unit"}, "subscriber": {"successUri": "http://10.9.8.7/done"}},
        headers={"Prefer": "respond-async", **ADMIN}, timeout=60)
    assert elsewhere.status_code == 400
    assert "not on the allow-list" in elsewhere.json()["description"]


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
        town: Town, body: dict[str, Any], sentence: str) -> None:
    before = requests.get(f"{town.base}/notifications/subscriptions", headers=ADMIN,
                          timeout=30).json()["subscriptions"]
    answer = requests.post(f"{town.base}/notifications/subscriptions", json=body,
                           headers=ADMIN, timeout=30)
    assert answer.status_code == 400 and sentence in answer.json()["description"], answer.text
    after = requests.get(f"{town.base}/notifications/subscriptions", headers=ADMIN,
                         timeout=30).json()["subscriptions"]
    assert after == before


def test_only_admins_manage_notifications(town: Town) -> None:
    path = f"{town.base}/notifications/subscriptions"
    assert requests.get(path, timeout=30).status_code == 401
    assert requests.get(path, headers=VIEWER, timeout=30).status_code == 403
    assert requests.get(f"{town.base}/notifications/deliveries", headers=VIEWER,
                        timeout=30).status_code == 403


def test_the_outbox_holds_committed_events_only(town: Town) -> None:
    with connect(town.url) as conn:
        conn.execute("INSERT INTO gridgeo.notify_subscriptions (channel, url, secret)"
                     " VALUES ('webhook', 'http://127.0.0.1:9/never', %s)", (SECRET,))
        incident = conn.execute(
            "INSERT INTO gridgeo.incidents (category_code, title, colour, geom) VALUES"
            " (%s, 'rolled back', 'yellow', ST_SetSRID(ST_MakePoint(111.511, 33.511), 4490))"
            " RETURNING id", (CATEGORY,)).fetchone()
        assert incident is not None
        inside = conn.execute("SELECT count(*) FROM gridgeo.notify_outbox o"
                              " JOIN gridgeo.notify_deliveries d ON d.outbox_id = o.id"
                              " WHERE o.incident_id = %s", (incident[0],)).fetchone()
        conn.rollback()
        after = conn.execute("SELECT count(*) FROM gridgeo.notify_outbox"
                             " WHERE incident_id = %s", (incident[0],)).fetchone()
    assert inside == (1,) and after == (0,)


def test_robot_signature_matches_dingtalk_docs() -> None:
    from gridgeo_plugins.notify_robots.messages import dingtalk_signed_url

    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECx",
                              now_ms=1_700_000_000_000)
    digest = hmac.new(b"SECx", b"1700000000000\nSECx", hashlib.sha256).digest()
    sign = parse_qs(urlsplit(url).query)["sign"][0]
    assert sign == base64.b64encode(digest).decode()

