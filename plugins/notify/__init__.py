"""Notifications: incident events to webhooks and e-mail, through a transactional outbox.

Every incident event is copied to ``gridgeo.notify_outbox`` with its deliveries in the
transaction that writes it (``schema/001_notify.sql``); the scheduler's delivery sweep
(``deliver.py``) hands due deliveries to the channel plugins through
``gridgeo_deliver_event``. This plugin delivers ``webhook`` (signed JSON, ``webhook.py``)
and ``email`` (SMTP, to the staff an escalation tells, ``email.py``); admins manage
subscriptions and read the delivery log at ``/notifications``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.contributions import Delivery, DeliveryOutcome, Gauge, Migration, ScheduledTask


@hookimpl
def gridgeo_migrations() -> list[Migration]:
    return list(load_migrations("notify", Path(__file__).parent / "schema"))


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.notify import log  # noqa: F401  (its route joins the blueprint)
    from gridgeo_plugins.notify.subscriptions import blueprint

    return [blueprint]


@hookimpl
def gridgeo_notification_channels() -> list[str]:
    return ["email", "webhook"]


@hookimpl
def gridgeo_deliver_event(delivery: Delivery) -> DeliveryOutcome | None:
    from gridgeo_plugins.notify import email, webhook

    if delivery.channel == "webhook":
        return webhook.deliver(delivery)
    if delivery.channel == "email":
        return email.deliver(delivery)
    return None


@hookimpl
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    from gridgeo_plugins.notify.deliver import deliver_due

    from gridgeo.settings import get_settings

    return [ScheduledTask("notify-deliver", get_settings().notify_sweep_seconds, deliver_due)]


@hookimpl
def gridgeo_gauges() -> list[Gauge]:
    return [
        Gauge("gridgeo_notifications_pending", "Notification deliveries waiting to be sent",
              "SELECT count(*) FROM gridgeo.notify_deliveries WHERE state = 'pending'"),
        Gauge("gridgeo_notifications_given_up", "Notification deliveries given up",
              "SELECT count(*) FROM gridgeo.notify_deliveries WHERE state = 'given_up'"),
    ]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, Any]]:
    from gridgeo.openapi_ops import answer, in_path, operation, refusal

    admin = {"401": refusal("No credentials."), "403": refusal("The caller is not an admin.")}
    subscription = {"type": "object", "properties": {
        "channel": {"type": "string", "default": "webhook"},
        "url": {"type": "string", "format": "uri"},
        "secret": {"type": "string", "minLength": 16, "writeOnly": True},
        "events": {"type": "array", "items": {"type": "string"}},
        "categories": {"type": "array", "items": {"type": "string"}},
        "colours": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"}}, "required": ["url"]}
    one = in_path("subscription_id", "the subscription's id")
    return {
        "/notifications/subscriptions": {
            "get": operation("Notification subscriptions (secrets never answered)",
                             "getNotifySubscriptions", "notifications",
                             {"200": answer("The subscriptions."), **admin}),
            "post": operation(
                "Subscribe a webhook or robot to incident events", "postNotifySubscription",
                "notifications",
                {"201": answer("The subscription."),
                 "400": refusal("A field is wrong (URL not http(s) or not on the allow-list, "
                                "unknown event kind, category or colour)."), **admin},
                body={"application/json": subscription})},
        "/notifications/subscriptions/{subscription_id}": {
            "get": operation("One subscription", "getNotifySubscription", "notifications",
                             {"200": answer("The subscription."),
                              "404": refusal("No such subscription."), **admin}, [one]),
            "delete": operation("Unsubscribe", "deleteNotifySubscription", "notifications",
                                {"204": {"description": "Deleted."},
                                 "404": refusal("No such subscription."), **admin}, [one])},
        "/notifications/deliveries": {"get": operation(
            "The delivery log: attempts, status, error, next try, given up",
            "getNotifyDeliveries", "notifications",
            {"200": answer("The deliveries, newest first, and the whole log's counts "
                           "(delivered, pending, retrying, given up)."),
             "400": refusal("A filter is wrong."), **admin},
            [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
             for n in ("state", "subscription", "limit")])},
    }
