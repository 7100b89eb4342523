"""Requests the server makes on a user's behalf (webhooks, robots, process callbacks).

Each is a request from inside the deployment's network to a URL someone typed, so every
destination must be on the allow-list (``GRIDGEO_WEBHOOK_ALLOW``: host names and
networks). A URL is checked when it is given (a 400 with a sentence) and again when it is
called: the host is resolved, every address checked, and the connection made to the
checked address, so a name that resolves elsewhere later (DNS rebinding) is refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRefused(ValueError):
    """A destination the server does not call; the message says why, as a sentence."""


@dataclass(frozen=True)
class AllowList:
    """Host names (matched exactly, case-insensitively) and networks (CIDR or one address)."""

    hosts: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        hosts: set[str] = set()
        networks: list[Network] = []
        for entry in (e.strip() for e in entries if e.strip()):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def admits_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def describe(self) -> str:
        names = sorted(self.hosts) + [str(n) for n in self.networks]
        return ", ".join(names) or "nothing (GRIDGEO_WEBHOOK_ALLOW is empty)"


def allow_list() -> AllowList:
    from gridgeo.settings import get_settings

    return AllowList.parse(get_settings().webhook_allow)


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line


def parse_url(url: str, field: str = "url") -> Destination:
    """The parts of an http(s) URL, or a refusal that says what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise OutboundRefused(f"{field} must be an http or https URL; it is empty.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"{field} {url!r} is not a URL.") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(f"{field} must be an http or https URL; {url!r} is not.")
    if not parts.hostname:
        raise OutboundRefused(f"{field} {url!r} names no host.")
    if parts.username or parts.password:
        raise OutboundRefused(f"{field} must not carry a user name or password.")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(url.strip(), parts.scheme, parts.hostname.lower().rstrip("."),
                       port or (443 if parts.scheme == "https" else 80), target)


def check_url(url: str, allowed: AllowList | None = None, field: str = "url") -> Destination:
    """Refuse a URL that is not http(s) or whose host is not on the allow-list (checked
    when the URL is given: listed by name — not resolved yet, so a robot can be set up
    before its name resolves here — or an address or a name that resolves only into
    listed networks)."""
    destination = parse_url(url, field)
    allowed = allowed or allow_list()
    if destination.host not in allowed.hosts:
        resolve(destination, allowed, field)
    return destination


def resolve(destination: Destination, allowed: AllowList, field: str = "url") -> Address:
    """The address to connect to: the host's, each of which must be allowed."""
    try:
        infos = socket.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(f"{field}: the host {destination.host} cannot be resolved.") \
            from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    by_name = destination.host in allowed.hosts
    refused = [a for a in addresses if not by_name and not allowed.admits_address(a)]
    if refused or not addresses:
        raise OutboundRefused(
            f"{field}: {destination.host} ({', '.join(map(str, addresses))}) is not on the "
            f"allow-list of destinations ({allowed.describe()}); ask the administrator to "
            "add it to GRIDGEO_WEBHOOK_ALLOW.")
    return addresses[0]


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand; the certificate is verified for the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def post(url: str, body: bytes, headers: dict[str, str], timeout: float,
         allowed: AllowList | None = None) -> Answer:
    """POST ``body`` to an allowed ``url`` (re-checked now, connected to the checked
    address). Raises OutboundRefused, or OSError/HTTPException when the call fails."""
    destination = parse_url(url)
    address = str(resolve(destination, allowed or allow_list()))
    conn: http.client.HTTPConnection
    if destination.scheme == "https":
        conn = _PinnedHTTPS(destination.host, destination.port, address, timeout)
    else:
        conn = http.client.HTTPConnection(address, destination.port, timeout=timeout)
    try:
        conn.request("POST", destination.target, body=body, headers={
            "Host": _host_header(destination), "User-Agent": "gridgeo", **headers})
        response = conn.getresponse()
        return Answer(response.status, response.read(64 * 1024))
    finally:
        conn.close()


def _host_header(destination: Destination) -> str:
    default = 443 if destination.scheme == "https" else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return host if destination.port == default else f"{host}:{destination.port}"


def failure_sentence(exc: BaseException) -> str:
    """What went wrong with a call, as a sentence for the delivery log."""
    if isinstance(exc, OutboundRefused):
        return str(exc)
    if isinstance(exc, TimeoutError | socket.timeout):
        return "the destination did not answer in time."
    if isinstance(exc, ssl.SSLError):
        return f"the TLS connection failed ({exc.reason or exc})."
    if isinstance(exc, ConnectionRefusedError):
        return "the destination refused the connection."
    if isinstance(exc, OSError | http.client.HTTPException):
        return f"the request failed ({type(exc).__name__}: {exc})."
    return f"the request failed ({type(exc).__name__})."
