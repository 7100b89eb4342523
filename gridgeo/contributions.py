"""What plugins contribute: collections, processes and schema migrations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class MigrationRef:
    """Names one migration: a plugin's namespace and a version number."""

    namespace: str
    version: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.version:03d}"


@dataclass(frozen=True)
class Migration:
    """One versioned SQL step of a plugin's schema.

    A migration implicitly requires the previous version of its own namespace;
    ``requires`` adds steps of other namespaces that must run first; ``after`` names
    steps of plugins that may be disabled: they run first only when installed.
    """

    namespace: str
    version: int
    name: str
    sql: str
    requires: tuple[MigrationRef, ...] = ()
    after: tuple[MigrationRef, ...] = ()

    @property
    def ref(self) -> MigrationRef:
        return MigrationRef(self.namespace, self.version)


@dataclass(frozen=True)
class CollectionContribution:
    """A collection served over OGC API Features.

    ``resource`` is the pygeoapi resource definition (``type: collection``),
    provider included; the deployment's pygeoapi-config.yml may override any of
    it or switch the collection off.
    """

    id: str
    resource: dict[str, Any]
    migrations: tuple[Migration, ...] = ()
    styles: dict[str, Path] = field(default_factory=dict)
    personal_fields: tuple[str, ...] = ()
    # Sections of collection.yml the catalog does not read itself, each read by whoever
    # owns it: ``qgis`` (the QGIS project), ``tiles`` (maps plugin), ``qr`` (QR plugin).
    declarations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessContribution:
    """An OGC API process: ``processor`` is the dotted path of a pygeoapi BaseProcessor."""

    id: str
    processor: str
    options: dict[str, Any] = field(default_factory=dict)
    # Who may run it, e.g. {"execute": ["viewer", ...]}; everyone when left out.
    access: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentCategory:
    """An incident category (GB/T 30428 main class + a sub-category of the town's own)."""

    code: str
    name_zh: str
    name_en: str
    # city_appearance, advertising, construction, street_order, emergency or extension
    incident_class: str
    parent_code: str | None = None
    # yellow, orange or red: the colour a new case of this category starts with (a grid of
    # difficulty C raises it, see gridgeo.incident_difficulty_colour)
    default_colour: str = "yellow"
    # set for a police matter: minutes from dispatch to arrival on scene (the target is 15)
    police_response_minutes: int | None = None
    # Read only by the roles that handle it (gridgeo.deployment sensitive_roles).
    sensitive: bool = False


@dataclass(frozen=True)
class ScheduledTask:
    """Periodic work: ``run`` is called with a connection in the transaction that claims
    the period, so its database work and the claim commit together (exactly once per
    period across every scheduler); it returns a short outcome for the run log."""

    name: str
    every_seconds: int
    run: Callable[[psycopg.Connection], str]


@dataclass(frozen=True)
class Gauge:
    """A figure /metrics reports, read from the database when Prometheus scrapes.

    ``sql`` returns one row with one number; it sees every row (counts are not
    filtered by the scraper's identity). ``name`` follows Prometheus naming
    (``gridgeo_incidents_overdue``).
    """

    name: str
    documentation: str
    sql: str


@dataclass(frozen=True)
class Recipient:
    """A staff member an event is for (told by an escalation), with their channels, or a
    department told (``staff_no`` then holds its code, ``email`` its office's address).
    Addresses and ids are personal data: used to send, never logged or answered."""

    staff_no: str
    name: str
    email: str | None = None
    wecom_id: str | None = None
    dingtalk_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One event to one destination, as the delivery sweep hands it to channel plugins.

    ``event`` is the JSON document of the incident event (gridgeo.notify_event_payload);
    ``url`` and ``secret`` are the subscription's (webhooks, robots), ``recipients`` the
    people it is for (e-mail: the one addressee; robots: everyone told, to @-mention).
    """

    id: int
    channel: str
    event: dict[str, Any]
    attempt: int
    url: str | None = None
    secret: str | None = None
    recipients: tuple[Recipient, ...] = ()


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one attempt. ``error`` is a sentence for the delivery log;
    ``final`` gives up at once (a destination refused by the allow-list, no address)."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    final: bool = False
