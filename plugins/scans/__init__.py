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


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo.openapi_ops import answer, operation, refusal

    refusals = {"400": refusal("The scan is not one gridgeo can record; the sentence says "
                               "why."),
                "401": refusal("No credentials: scans are recorded for an inspector."),
                "403": refusal("The caller may not record inspections."),
                "404": refusal("The scanned code is no item's."),
                "409": refusal("The scan contradicts one recorded before."),
                "413": refusal("The body is too large.")}
    return {
        "/scans": {"post": operation(
            "Record one scan of a QR code during an inspection", "postScan", "scans",
            {"200": answer("Recorded before: the earlier outcome."),
             "201": answer("Recorded."), **refusals}, body={"application/json": {
                 "type": "object"}})},
        "/scans/batch": {"post": operation(
            "Record scans made offline; each is answered on its own", "postScanBatch",
            "scans", {"200": answer("One outcome per scan, in the order sent."), **refusals},
            body={"application/json": {"type": "object", "required": ["scans"],
                                       "properties": {"scans": {"type": "array",
                                                                "items": {"type": "object"}}}}})},
    }
