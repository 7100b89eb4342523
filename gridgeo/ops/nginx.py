"""``gridgeo deploy nginx``: an nginx site terminating TLS in front of gunicorn.

HTTP/2, gzip for JSON and GeoJSON, the app's cache headers passed through unchanged,
the client's address, scheme, host and request id forwarded (gridgeo trusts one proxy:
werkzeug's ProxyFix), bodies up to the upload limit, and /metrics for local scrapers
only. Links and QR codes carry GRIDGEO_PUBLIC_URL, which must be this site's https URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Answers worth compressing; pygeoapi's JSON, GeoJSON and OpenAPI documents above all.
GZIP_TYPES = ("application/json", "application/geo+json", "application/vnd.oai.openapi+json",
              "application/schema+json", "application/problem+json", "text/css",
              "text/plain", "text/csv", "application/javascript", "image/svg+xml",
              "application/gpx+xml", "application/xml")


@dataclass(frozen=True)
class Site:
    server_name: str
    certificate: Path
    certificate_key: Path
    upstream: str = "127.0.0.1:5000"
    https_port: int = 443
    http_port: int | None = 80  # None: no plain-HTTP redirect server
    max_body_bytes: int = 30 * 1024 * 1024

    @property
    def public_url(self) -> str:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{self.server_name}{port}"


def _redirect_server(site: Site) -> str:
    if site.http_port is None:
        return ""
    return f"""
server {{
    listen {site.http_port};
    server_name {site.server_name};
    return 301 https://$host{'' if site.https_port == 443 else f':{site.https_port}'}$request_uri;
}}
"""


def site_config(site: Site) -> str:
    """The site file (for /etc/nginx/sites-available/gridgeo)."""
    proxy = """proxy_pass http://gridgeo_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Request-ID $gridgeo_request_id;
        proxy_read_timeout 130s;"""
    return f"""# Written by `gridgeo deploy nginx`. gridgeo must run with
# GRIDGEO_PUBLIC_URL={site.public_url} (links and QR codes carry it).

upstream gridgeo_app {{
    server {site.upstream};
    keepalive 16;
}}

# The caller's X-Request-ID when it gave one, else nginx's own: the id in gridgeo's log.
map $http_x_request_id $gridgeo_request_id {{
    default $http_x_request_id;
    ""      $request_id;
}}
{_redirect_server(site)}
server {{
    listen {site.https_port} ssl http2;
    server_name {site.server_name};

    ssl_certificate     {site.certificate};
    ssl_certificate_key {site.certificate_key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:gridgeo_tls:10m;
    ssl_session_timeout 1d;
    add_header Strict-Transport-Security "max-age=31536000" always;

    # Uploads (attachments) up to GRIDGEO_MAX_UPLOAD_BYTES; gridgeo checks its own limits.
    client_max_body_size {site.max_body_bytes};

    gzip on;
    gzip_vary on;
    gzip_proxied any;
    gzip_min_length 1024;
    gzip_types {' '.join(GZIP_TYPES)};

    # Cache-Control, ETag and Vary come from gridgeo and pass through unchanged.
    location / {{
        {proxy}
    }}

    # Prometheus scrapes from this host; the figures are not for the public.
    location = /metrics {{
        allow 127.0.0.1;
        allow ::1;
        deny all;
        {proxy}
    }}
}}
"""
