"""Incidents beyond the table: the Open311 hotline intake, the deadline rules (SLA table)
over HTTP, the weekly report process and the escalation sweep.

The state machine, case numbers, places and the audit log live in the database
(``collections/incidents/schema/002_state_machine.sql``); this plugin only adds ways in
and out. Categories are rows of ``gridgeo.incident_categories``: a plugin adds its own
with a migration that says ``-- requires: incidents/002``.
"""

from __future__ import annotations

import psycopg
from flask import Blueprint

from gridgeo import hookimpl
from gridgeo.contributions import Gauge, IncidentCategory, ProcessContribution, ScheduledTask


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.incidents.open311 import blueprint
    from gridgeo_plugins.incidents.sla import blueprint as sla_rules

    return [blueprint, sla_rules]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo.openapi_ops import answer, in_path, operation, refusal

    form = {"type": "object", "properties": {
        name: {"type": "string"} for name in (
            "service_code", "description", "lat", "long", "address_id", "address_string",
            "first_name", "last_name", "phone")}}
    list_of = {"type": "array", "items": {"type": "object"}}
    rule = {"type": "object", "required": ["colour", "accept_within", "handle_within"],
            "properties": {"colour": {"type": "string"},
                           "difficulty": {"type": "string", "nullable": True,
                                          "description": "A, B, C or null (any grid)"},
                           "category_code": {"type": "string", "nullable": True},
                           "accept_within": {"type": "string", "example": "4 hours"},
                           "handle_within": {"type": "string", "example": "3 working days"}}}
    rules = {"type": "object", "required": ["rules"],
             "properties": {"rules": {"type": "array", "items": rule}}}
    return {
        "/open311/v2/services.json": {"get": operation(
            "Open311 services: the incident categories", "getOpen311Services", "open311",
            {"200": answer("The services.", schema=list_of)})},
        "/open311/v2/requests.json": {"post": operation(
            "A hotline call as an Open311 service request (becomes an incident)",
            "postOpen311Request", "open311",
            {"201": answer("The new request's case number.", schema=list_of),
             "400": refusal("A field is missing or wrong; the sentence says which."),
             "401": refusal("No credentials: the hotline writes with an API key."),
             "403": refusal("The caller may not create incidents.")},
            body={"application/x-www-form-urlencoded": form, "application/json": form})},
        "/open311/v2/requests/{case_no}.json": {"get": operation(
            "One service request's state (never the reporter's data)", "getOpen311Request",
            "open311", {"200": answer("The request.", schema=list_of),
                        "404": refusal("No request has that case number.")},
            [in_path("case_no", "the case number the request was answered")])},
        "/sla-rules": {
            "get": operation("The deadline rules (SLA table): colour x grid difficulty x "
                             "category", "getSlaRules", "incidents",
                             {"200": answer("The rules.", schema=rules)}),
            "put": operation(
                "Replace the deadline rules (the whole table, in one transaction)",
                "putSlaRules", "incidents",
                {"200": answer("The rules as stored.", schema=rules),
                 "400": refusal("A rule does not parse or names nothing known; the sentence "
                                "says which."),
                 "401": refusal("No credentials."),
                 "403": refusal("The caller's role may not change the rules (admin may).")},
                body={"application/json": rules})},
    }


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution("incident-report",
                                "gridgeo_plugins.incidents.report.IncidentReport")]


@hookimpl
def gridgeo_incident_categories() -> list[IncidentCategory]:
    from gridgeo_plugins.incidents.categories import standard_categories

    return standard_categories()


@hookimpl
def gridgeo_reference_data(conn: psycopg.Connection) -> None:
    """Every plugin's incident categories, upserted by code (parents first), and the
    working-day calendar from the chinesecalendar package."""
    from gridgeo_plugins.incidents.workdays import sync_calendar

    from gridgeo.plugins import get_plugin_manager

    categories = [c for batch in get_plugin_manager().hook.gridgeo_incident_categories()
                  for c in batch]
    for category in sorted(categories, key=lambda c: c.parent_code is not None):
        conn.execute(
            "INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class, parent_code,"
            " default_colour, police_response_target, sensitive) VALUES (%s, %s, %s, %s, %s,"
            " %s, make_interval(mins => %s), %s) ON CONFLICT (code) DO UPDATE SET"
            " name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en, class = EXCLUDED.class,"
            " parent_code = EXCLUDED.parent_code, default_colour = EXCLUDED.default_colour,"
            " police_response_target = EXCLUDED.police_response_target,"
            " sensitive = EXCLUDED.sensitive",
            (category.code, category.name_zh, category.name_en, category.incident_class,
             category.parent_code, category.default_colour, category.police_response_minutes,
             category.sensitive))
    sync_calendar(conn)


def escalation_sweep(conn: psycopg.Connection) -> str:
    """Warnings and escalations (督办) of every incident that needs one now."""
    row = conn.execute("SELECT gridgeo.incident_escalation_sweep()").fetchone()
    return str(row[0]) if row else ""


@hookimpl
def gridgeo_scheduled_tasks() -> list[ScheduledTask]:
    from gridgeo.settings import get_settings

    return [ScheduledTask("incident-escalation", get_settings().escalation_sweep_seconds,
                          escalation_sweep)]


@hookimpl
def gridgeo_gauges() -> list[Gauge]:
    return [Gauge("gridgeo_incidents_overdue", "Open incidents past their deadline",
                  "SELECT count(*) FROM gridgeo.incidents_view WHERE overdue")]
