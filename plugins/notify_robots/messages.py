"""Message formats of the WeCom and DingTalk group robots, and their answers.

WeCom: ``{"msgtype": "markdown", "markdown": {"content": ...}}``, mentions as
``<@userid>`` in the content. DingTalk: ``{"msgtype": "markdown", "markdown": {"title",
"text"}, "at": {"atUserIds": [...]}}``, mentions as ``@userId`` in the text; a signed
robot takes ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret,
"<timestamp>\\n<secret>")) in the query string. Both answer HTTP 200 with
``{"errcode": 0}`` when the message was posted, another errcode when not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

import orjson
from gridgeo_plugins.notify.webhook import post_json

from gridgeo.contributions import Delivery, DeliveryOutcome

KINDS = {"state": "状态变更", "colour": "颜色调整", "dispatch": "派遣", "reassign": "改派",
         "warning": "临期预警", "escalation": "超期督办"}


def lines(delivery: Delivery) -> list[str]:
    event = delivery.event
    kind = KINDS.get(str(event.get("kind")), str(event.get("kind")))
    return [f"**{kind}** 案件 {event.get('case_no')}",
            f"> {event.get('title') or ''}",
            f"> {event.get('note') or ''}",
            f"> 状态：{event.get('to_state')}　颜色：{event.get('colour')}"
            f"　网格：{event.get('grid_code')}"]


def wecom_message(delivery: Delivery) -> dict[str, Any]:
    mentions = " ".join(f"<@{r.wecom_id}>" for r in delivery.recipients if r.wecom_id)
    return {"msgtype": "markdown",
            "markdown": {"content": "\n".join([*lines(delivery), mentions]).strip()}}


def dingtalk_message(delivery: Delivery) -> dict[str, Any]:
    ids = [r.dingtalk_id for r in delivery.recipients if r.dingtalk_id]
    mentions = " ".join(f"@{i}" for i in ids)
    text = "\n\n".join([*lines(delivery), mentions]).strip()
    title = f"{KINDS.get(str(delivery.event.get('kind')), '事件')} {delivery.event.get('case_no')}"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
            "at": {"atUserIds": ids, "isAtAll": False}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_signed_url(url: str, secret: str | None, now_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"


def send(url: str, message: dict[str, Any]) -> DeliveryOutcome:
    """POST the message; HTTP 200 with errcode 0 is delivered."""
    answer = post_json(url, orjson.dumps(message), {})
    if isinstance(answer, DeliveryOutcome):
        return answer
    if answer.status != 200:
        return DeliveryOutcome(False, answer.status,
                               f"the robot answered HTTP {answer.status}.")
    try:
        reply = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict) or reply.get("errcode") != 0:
        said = reply.get("errmsg") if isinstance(reply, dict) else None
        return DeliveryOutcome(False, answer.status,
                               f"the robot refused the message ({said or 'no errcode 0'}).")
    return DeliveryOutcome(True, answer.status)
