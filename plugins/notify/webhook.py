"""Outbound webhooks: the event as JSON, signed with the subscription's secret.

The body carries its own timestamp (``sent_at``, also in ``Gridgeo-Timestamp``), and
``Gridgeo-Signature: sha256=<hex>`` is HMAC-SHA256 of the raw body with the secret: a
receiver recomputes it over the bytes it received, compares in constant time and refuses
old timestamps (replays). ``Gridgeo-Delivery`` is the same on every retry of one delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import orjson

from gridgeo import outbound
from gridgeo.contributions import Delivery, DeliveryOutcome

SIGNATURE_HEADER = "Gridgeo-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(delivery: Delivery, sent_at: int) -> bytes:
    return orjson.dumps({"delivery": delivery.id, "attempt": delivery.attempt,
                         "sent_at": sent_at, "event": delivery.event})


def post_json(url: str, body: bytes,
              headers: dict[str, str]) -> outbound.Answer | DeliveryOutcome:
    """POST to an allowed URL: the answer, or the failed try as an outcome."""
    from gridgeo.settings import get_settings

    try:
        return outbound.post(url, body, {"Content-Type": "application/json", **headers},
                             get_settings().webhook_timeout_s)
    except outbound.OutboundRefused as exc:
        return DeliveryOutcome(False, error=str(exc), final=True)
    except Exception as exc:
        return DeliveryOutcome(False, error=outbound.failure_sentence(exc))


def send_json(url: str, body: bytes, headers: dict[str, str]) -> DeliveryOutcome:
    """Any 2xx is delivered, anything else a failed try."""
    answer = post_json(url, body, headers)
    if isinstance(answer, DeliveryOutcome):
        return answer
    if 200 <= answer.status < 300:
        return DeliveryOutcome(True, answer.status)
    return DeliveryOutcome(False, answer.status,
                           f"the destination answered HTTP {answer.status}.")


def deliver(delivery: Delivery) -> DeliveryOutcome:
    if not delivery.url or not delivery.secret:
        return DeliveryOutcome(False, error="the subscription has no URL or secret.",
                               final=True)
    sent_at = int(time.time())
    body = body_of(delivery, sent_at)
    return send_json(delivery.url, body, {
        SIGNATURE_HEADER: signature(delivery.secret, body),
        "Gridgeo-Timestamp": str(sent_at), "Gridgeo-Delivery": str(delivery.id),
        "Gridgeo-Event": str(delivery.event.get("kind", ""))})
