"""``gridgeo deploy systemd``: unit files for the web server, the job workers and the
scheduler.

All run as one dedicated, unprivileged user, restart on failure and are confined by
systemd's sandboxing (the tests hold them to an exposure level of at most
``EXPOSURE_THRESHOLD`` in ``systemd-analyze security``).
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

# systemd-analyze security: 0 is fully confined, 10 is not confined at all; "OK" ends at 4.
EXPOSURE_THRESHOLD = 2.0

HARDENING = """\
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
ProtectSystem=strict
ProtectHome=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
PrivateMounts=yes
KeyringMode=private
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
UMask=0027
"""


@dataclass(frozen=True)
class ServiceLayout:
    """Where the installed gridgeo lives and runs on the server."""

    user: str = "gridgeo"
    home: Path = Path("/var/lib/gridgeo")
    env_file: Path = Path("/etc/gridgeo/gridgeo.env")
    gridgeo: Path = Path(sys.prefix) / "bin" / "gridgeo"


def _unit(description: str, command: str, layout: ServiceLayout, extra: str = "") -> str:
    return f"""\
# Written by `gridgeo deploy systemd`; settings are in {layout.env_file} (GRIDGEO_*).
[Unit]
Description={description}
Wants=network-online.target
After=network-online.target postgresql.service

[Service]
Type=simple
User={layout.user}
Group={layout.user}
Environment=GRIDGEO_HOME={layout.home}
EnvironmentFile=-{layout.env_file}
WorkingDirectory={layout.home}
ExecStart={command}
Restart=on-failure
RestartSec=5
{extra}# Confinement: gridgeo writes only under its home; no privileges, no devices.
ReadWritePaths={layout.home}
{HARDENING}
[Install]
WantedBy=multi-user.target
"""


def unit_files(layout: ServiceLayout) -> dict[str, str]:
    """File name -> contents: the web server, a template for N job workers and the
    scheduler of periodic tasks (one is enough; more on other hosts are harmless)."""
    gridgeo = shlex.quote(str(layout.gridgeo))
    return {
        "gridgeo-web.service": _unit(
            "gridgeo web server (gunicorn)", f"{gridgeo} serve --no-job-workers", layout,
            "TimeoutStopSec=30\n"),
        "gridgeo-worker@.service": _unit(
            "gridgeo job worker %i", f"{gridgeo} worker", layout,
            "# A job in progress is finished before the worker stops.\nTimeoutStopSec=600\n"),
        "gridgeo-scheduler.service": _unit(
            "gridgeo scheduler of periodic tasks", f"{gridgeo} scheduler", layout,
            "TimeoutStopSec=60\n"),
    }


def write_units(folder: Path, layout: ServiceLayout) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in unit_files(layout).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
