"""Group robots of WeCom (企业微信) and DingTalk (钉钉) as notification channels.

A subscription with channel ``wecom`` or ``dingtalk`` names the robot's webhook URL (on
the allow-list like any destination); each event becomes a markdown message, @-mentioning
the staff it tells by their WeCom/DingTalk ids (on their staff records). A DingTalk robot
with "加签" signing takes the subscription's secret (see ``messages.dingtalk_signed_url``).
"""

from __future__ import annotations

from gridgeo import hookimpl
from gridgeo.contributions import Delivery, DeliveryOutcome


@hookimpl
def gridgeo_notification_channels() -> list[str]:
    return ["dingtalk", "wecom"]


@hookimpl
def gridgeo_deliver_event(delivery: Delivery) -> DeliveryOutcome | None:
    from gridgeo_plugins.notify_robots import messages

    if delivery.channel == "wecom":
        return messages.send(delivery.url or "", messages.wecom_message(delivery))
    if delivery.channel == "dingtalk":
        url = messages.dingtalk_signed_url(delivery.url or "", delivery.secret)
        return messages.send(url, messages.dingtalk_message(delivery))
    return None
