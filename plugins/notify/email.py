"""E-mail to the staff an escalation or warning tells, over SMTP (GRIDGEO_SMTP_URL).

``smtp://[user:password@]host[:port]`` uses STARTTLS when the server offers it;
``smtps://`` is TLS from the start. The address is read from the staff record when the
mail is sent and never written to the log.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from gridgeo.contributions import Delivery, DeliveryOutcome

KIND_SUBJECTS = {"warning": "临期预警", "escalation": "超期督办"}


def message(delivery: Delivery, sender: str, to: str) -> EmailMessage:
    event = delivery.event
    mail = EmailMessage()
    kind = KIND_SUBJECTS.get(str(event.get("kind")), str(event.get("kind")))
    mail["Subject"] = f"[gridgeo] {kind} {event.get('case_no')} {event.get('title') or ''}"
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = f"<gridgeo-delivery-{delivery.id}@gridgeo>"  # same on a retry
    mail.set_content("\n".join([
        f"案件 {event.get('case_no')}: {event.get('title') or ''}",
        f"事件: {event.get('note') or kind}",
        f"状态: {event.get('to_state')}　颜色: {event.get('colour')}",
        f"网格: {event.get('grid_code')}　时间: {event.get('at')}",
    ]))
    return mail


def connect(url: str, timeout: float) -> smtplib.SMTP:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("GRIDGEO_SMTP_URL must be smtp://host[:port] or smtps://host[:port].")
    if parts.scheme == "smtps":
        server: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, parts.port or 465,
                                                timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        server.ehlo()
        if server.has_extn("starttls"):
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
    if parts.username:
        server.login(unquote(parts.username), unquote(parts.password or ""))
    return server


def deliver(delivery: Delivery) -> DeliveryOutcome:
    from gridgeo.settings import get_settings

    settings = get_settings()
    if not settings.smtp_url:
        return DeliveryOutcome(False, error="no mail server is configured (GRIDGEO_SMTP_URL).",
                               final=True)
    addressee = next((r for r in delivery.recipients if r.email), None)
    if addressee is None or addressee.email is None:
        return DeliveryOutcome(False, error="the staff member or department told has no "
                               "(active) record with an e-mail address.", final=True)
    try:
        with connect(settings.smtp_url, settings.webhook_timeout_s) as server:
            server.send_message(message(delivery, settings.smtp_from, addressee.email))
    except smtplib.SMTPResponseException as exc:
        return DeliveryOutcome(False, exc.smtp_code, f"the mail server answered "
                               f"{exc.smtp_code}.", final=500 <= exc.smtp_code < 600)
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return DeliveryOutcome(False, error=f"the mail server could not be reached or "
                               f"refused the mail ({type(exc).__name__}).")
    return DeliveryOutcome(True, 250)
