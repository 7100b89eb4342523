"""Incidents beyond the table: the Open311 hotline intake and the weekly report process.

The state machine, case numbers, places and the audit log live in the database
(``collections/incidents/schema/002_state_machine.sql``); this plugin only adds ways in
and out. Categories are rows of ``gridgeo.incident_categories``: a plugin adds its own
with a migration that says ``-- requires: incidents/002``.
"""

from __future__ import annotations

from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.incidents.open311 import blueprint

    return [blueprint]


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution("incident-report",
                                "gridgeo_plugins.incidents.report.IncidentReport")]
