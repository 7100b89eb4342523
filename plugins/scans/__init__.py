"""QR scan check-ins: one scan or an offline batch, each checked by the database.

``POST /scans`` records one scan; ``POST /scans/batch`` records scans made offline and
uploaded later, keeping their original times. Every scan carries a UUID made on the
device, so a replayed upload creates nothing twice; the answer has a result per scan.
"""

from __future__ import annotations

from flask import Blueprint

from gridgeo import hookimpl


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.scans.routes import blueprint

    return [blueprint]
